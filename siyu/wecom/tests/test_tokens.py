"""The token cache shared through the AccessToken table: one refresher at a time."""

import threading
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from siyu.accounts.tests.factories import CorpFactory
from siyu.wecom import flow
from siyu.wecom.models import AccessToken
from siyu.wecom.tests.client_fakes import ScriptedWeCom, isolated, sync_client
from siyu.wecom.tokens import CLAIM_SECONDS, REFRESH_MARGIN, TokenCache, TokenStep


@pytest.fixture
def corp(db):
    return CorpFactory(api_base_url="http://wecom.test/cgi-bin/")


def test_first_caller_claims_the_fetch_and_others_wait(corp):
    first, second = TokenCache(), TokenCache()
    assert first.resolve(corp.pk, "contact") == TokenStep(fetch=True)
    assert second.resolve(corp.pk, "contact") == TokenStep()  # wait: first is fetching
    first.store(corp.pk, "contact", "T1", 7200)
    assert second.resolve(corp.pk, "contact") == TokenStep(token="T1")
    assert second.peek(corp.pk, "contact") == "T1"


def test_a_dead_claimers_claim_lapses(corp):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert TokenCache().resolve(corp.pk, "contact").fetch  # then the process dies
        other = TokenCache()
        assert other.resolve(corp.pk, "contact") == TokenStep()
        traveller.shift(CLAIM_SECONDS + 1)
        assert other.resolve(corp.pk, "contact").fetch


def test_failed_fetch_releases_the_claim(corp):
    first, second = TokenCache(), TokenCache()
    assert first.resolve(corp.pk, "contact").fetch
    first.release(corp.pk, "contact")
    assert second.resolve(corp.pk, "contact").fetch


def test_a_rejected_token_is_replaced_once_for_everybody(corp):
    first, second = TokenCache(), TokenCache()
    first.resolve(corp.pk, "contact")
    first.store(corp.pk, "contact", "T1", 7200)
    # Both processes see WeCom refuse T1; only one of them fetches.
    assert first.resolve(corp.pk, "contact", rejected="T1").fetch
    assert second.resolve(corp.pk, "contact", rejected="T1") == TokenStep()
    first.store(corp.pk, "contact", "T2", 7200)
    assert second.resolve(corp.pk, "contact", rejected="T1") == TokenStep(token="T2")


def test_token_near_expiry_is_used_while_another_process_refreshes(corp):
    first, second = TokenCache(), TokenCache()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        first.resolve(corp.pk, "contact")
        first.store(corp.pk, "contact", "T1", 7200)
        traveller.shift(7200 - REFRESH_MARGIN.total_seconds() + 60)  # inside the margin
        assert first.peek(corp.pk, "contact") is None
        traveller.shift(REFRESH_MARGIN.total_seconds() - 62)  # 2 s left
        assert first.resolve(corp.pk, "contact").fetch
        assert second.resolve(corp.pk, "contact") == TokenStep(token="T1")
        traveller.shift(3)  # expired, the claim (CLAIM_SECONDS) still held: nothing to hand out
        assert second.resolve(corp.pk, "contact") == TokenStep()


def test_tokens_are_per_corp_and_secret_kind(corp):
    other = CorpFactory()
    cache = TokenCache()
    for owner, kind, token in ((corp, "contact", "A"), (corp, "jsapi_ticket", "B"),
                               (other, "contact", "C")):
        assert cache.resolve(owner.pk, kind).fetch
        cache.store(owner.pk, kind, token, 7200)
    fresh = TokenCache()
    assert [fresh.resolve(c.pk, k).token for c, k in ((corp, "contact"), (corp, "jsapi_ticket"),
                                                       (other, "contact"))] == ["A", "B", "C"]
    assert AccessToken.objects.for_corp(corp).count() == 2


def test_a_waiting_client_polls_until_the_refresher_stores(corp):
    """A client whose process lost the race waits (short sleeps) and then uses the new token."""
    wecom = ScriptedWeCom()
    claimer = TokenCache()
    assert claimer.resolve(corp.pk, "contact").fetch  # another process is mid-refresh
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        if len(polls) == 3:
            claimer.store(corp.pk, "contact", "TOKEN-1", 7200)
            wecom.issued.append("TOKEN-1")

    answer = sync_client(corp, wecom, sleep=sleep, **isolated()).get_follow_user_list()
    assert answer["errcode"] == 0
    assert polls == [0.2, 0.2, 0.2]
    assert wecom.calls("gettoken") == []


@pytest.mark.django_db(transaction=True)
def test_many_processes_needing_a_token_at_once_fetch_it_once():
    corp = CorpFactory(api_base_url="http://wecom.test/cgi-bin/")
    wecom = ScriptedWeCom()
    lock = threading.Lock()

    def slow_wecom(request):
        if request.url.path.endswith("/gettoken"):
            threading.Event().wait(0.3)  # a slow gettoken widens the race
        with lock:
            return wecom(request)

    results, errors = [], []
    start = threading.Barrier(8)

    def process():
        try:
            client = sync_client(corp, wecom, **isolated())
            client.http = httpx.Client(base_url=corp.api_base_url,
                                       transport=httpx.MockTransport(slow_wecom))
            client._sleep = lambda s: threading.Event().wait(s)
            start.wait()
            results.append(client.get_follow_user_list()["errcode"])
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=process) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and results == [0] * 8
    assert len(wecom.calls("gettoken")) == 1
    row = AccessToken.objects.for_corp(corp).get()
    assert row.token == "TOKEN-1" and row.refresh_claimed_until is None
    assert row.expires_at > timezone.now() + timedelta(hours=1)


def test_gettoken_gives_up_before_its_refresh_claim_runs_out():
    """A process killed or stuck in gettoken holds the claim; the others wait at most
    CLAIM_SECONDS for it, and the claimer's own call is bounded below that."""
    steps = flow.fetch_access_token(SimpleNamespace(corp_id=1), "contact")
    assert isinstance(next(steps), flow.Db)  # the credentials
    send = steps.send(("wwcorp", "secret"))
    assert isinstance(send, flow.Send) and send.api == "gettoken"
    assert send.timeout is not None and send.timeout < CLAIM_SECONDS <= 5
