"""The API client against the WeCom simulator over real HTTP: tokens expiring mid-run,
injected -1 bursts, timeouts and 45009, rate limits kept, concurrent async fan-out."""

import asyncio

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.utils import timezone

from siyu.accounts.tests.factories import CorpFactory
from siyu.wecom.calllog import call_log
from siyu.wecom.client import (
    SyncWeComClient,
    WeComError,
    WeComTransientError,
    client_for,
    sync_client_for,
)
from siyu.wecom.models import ApiCall, RateWindow
from siyu.wecom.simulator.testing import running_simulator
from siyu.wecom.tests.client_fakes import ClockSleep

GET = "externalcontact/get"


@pytest.fixture
def sim():
    with running_simulator(seed=3, employees=5, customers=40, groups=2) as running:
        yield running


@pytest.fixture
def corp(db, sim, settings):
    settings.SIYU_WECOM_RETRY_BASE_SECONDS = 0.01
    return CorpFactory(corp_id=sim.config.corp_id, contact_secret=sim.config.contact_secret,
                       api_base_url=sim.base_url)


def logged(corp, api=None) -> list[tuple]:
    call_log.flush()
    rows = ApiCall.objects.for_corp(corp).order_by("id")
    if api:
        rows = rows.filter(api=api)
    return list(rows.values_list("api", "errcode", "attempt"))


def customers_of(sim) -> list[str]:
    population = sim.control.population()
    return sorted(c["external_userid"] for c in population["customers"])


def test_reads_the_simulated_enterprise(corp, sim):
    wecom = sync_client_for(corp)
    followers = wecom.get_follow_user_list()["follow_user"]
    assert followers
    listing = wecom.list_external_contacts(followers[0])["external_userid"]
    contact = wecom.get_external_contact(listing[0])
    assert contact["external_contact"]["external_userid"] == listing[0]
    assert any(f["userid"] == followers[0] for f in contact["follow_user"])
    page = wecom.batch_get_by_user(followers[:2], limit=10)
    assert page["errcode"] == 0 and page["external_contact_list"]
    assert [api for api, *_ in logged(corp)].count("gettoken") == 1


def test_token_expiry_mid_run_is_handled(corp, sim):
    wecom = sync_client_for(corp)
    ids = customers_of(sim)[:6]
    for external_userid in ids[:3]:
        wecom.get_external_contact(external_userid)
    assert sim.control.expire_tokens() >= 1
    for external_userid in ids[3:]:
        assert wecom.get_external_contact(external_userid)["errcode"] == 0
    calls = logged(corp)
    assert [c for c in calls if c[0] == "gettoken"] == [("gettoken", 0, 1)] * 2
    assert (GET, 42001, 1) in calls and (GET, 0, 2) in calls


def test_injected_busy_burst_is_retried(corp, sim):
    sim.control.inject_faults(api=GET, errcode=-1, count=3)
    external_userid = customers_of(sim)[0]
    assert sync_client_for(corp).get_external_contact(external_userid)["errcode"] == 0
    assert logged(corp, GET) == [(GET, -1, 1), (GET, -1, 2), (GET, -1, 3), (GET, 0, 4)]


def test_a_burst_longer_than_the_retries_raises_a_transient_error(corp, sim):
    sim.control.inject_faults(api=GET, errcode=-1, count=10)
    with pytest.raises(WeComTransientError) as caught:
        sync_client_for(corp).get_external_contact(customers_of(sim)[0])
    assert caught.value.errcode == -1
    assert len(logged(corp, GET)) == 5


def test_injected_timeout_is_retried(corp, sim, settings):
    settings.SIYU_WECOM_HTTP_TIMEOUT_SECONDS = 0.3
    sim.control.configure(timeout_hang_s=1.5)
    sim.control.inject_faults(api=GET, timeout=True, count=1)
    assert sync_client_for(corp).get_external_contact(customers_of(sim)[0])["errcode"] == 0
    assert logged(corp, GET) == [(GET, None, 1), (GET, 0, 2)]


def test_wecom_errors_come_back_as_wecom_error(corp, sim):
    with pytest.raises(WeComError) as caught:
        sync_client_for(corp).get_external_contact("wm-nobody")
    assert caught.value.errcode in (40096, 84061)
    assert not isinstance(caught.value, WeComTransientError)


def test_welcome_message_goes_once(corp, sim):
    code = sim.control.add_customer(state="poster")
    wecom = sync_client_for(corp)
    wecom.send_welcome_msg(code, text="欢迎！", attachments=[
        {"msgtype": "link", "link": {"title": "新人礼", "url": "https://example.com/gift"}}])
    [received] = sim.control.welcome_messages()
    assert (received["welcome_code"], received["text"]) == (code, "欢迎！")
    assert received["attachments"][0]["link"]["title"] == "新人礼"
    with pytest.raises(WeComError) as caught:
        wecom.send_welcome_msg(code, text="again")
    assert caught.value.errcode == 41051


@pytest.fixture
def frozen_clock():
    start = timezone.now().replace(second=10, microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        yield ClockSleep(traveller)


def test_rate_limit_is_kept_so_wecom_never_answers_45009(corp, sim, settings, frozen_clock):
    settings.SIYU_WECOM_RATE_LIMITS = {GET: (5, None)}
    settings.SIYU_WECOM_RATE_HEADROOM = 1.0
    sim.control.configure(api_limits={GET: {"minute": 5}})
    wecom = SyncWeComClient(corp, sleep=frozen_clock)
    ids = customers_of(sim)
    for external_userid in ids[:12]:
        assert wecom.get_external_contact(external_userid)["errcode"] == 0
    assert [errcode for _api, errcode, _attempt in logged(corp, GET)] == [0] * 12
    # Two waits for the next minute: 5 calls in each of three minutes, the last one partly.
    assert len(frozen_clock.waits) == 2 and all(50 < w <= 60.1 for w in frozen_clock.waits)
    wecom.close()


def test_45009_from_wecom_is_waited_out_not_hammered(corp, sim, settings, frozen_clock):
    # WeCom's limit is lower than ours (another system shares the corp): the 4th call gets
    # 45009 and the API is blocked for a minute; the client waits it out once and goes on.
    sim.control.configure(api_limits={GET: {"minute": 3}}, minute_block_s=60)
    wecom = SyncWeComClient(corp, sleep=frozen_clock)
    for external_userid in customers_of(sim)[:5]:
        assert wecom.get_external_contact(external_userid)["errcode"] == 0
    assert [errcode for _api, errcode, _attempt in logged(corp, GET)] == [0, 0, 0, 45009, 0, 0]
    assert len(frozen_clock.waits) == 1 and 60 <= frozen_clock.waits[0] < 61
    assert RateWindow.objects.for_corp(corp).filter(api=GET, blocked_until__isnull=False).exists()
    wecom.close()


def test_async_fan_out_within_limits(corp, sim):
    ids = customers_of(sim)[:25]

    async def run():
        wecom = client_for(corp)
        try:
            return await asyncio.gather(*(wecom.get_external_contact(i) for i in ids))
        finally:
            await wecom.aclose()

    sim.control.inject_faults(api=GET, errcode=45033, count=2)
    answers = async_to_sync(run)()
    assert [a["external_contact"]["external_userid"] for a in answers] == ids
    calls = logged(corp)
    assert [c[0] for c in calls].count("gettoken") == 1
    assert sum(1 for c in calls if c[:2] == (GET, 0)) == 25
    assert sum(1 for c in calls if c[:2] == (GET, 45033)) == 2
