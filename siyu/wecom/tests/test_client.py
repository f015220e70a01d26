"""The API client against a scripted WeCom (httpx.MockTransport): tokens, retries, 45009,
the call log, both the sync and the async client."""

import asyncio
from datetime import timedelta

import httpx
import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.utils import timezone

from siyu.accounts.tests.factories import CorpFactory
from siyu.core.jobs import TransientError
from siyu.wecom.calllog import call_log
from siyu.wecom.client import (
    SyncWeComClient,
    WeComClient,
    WeComError,
    WeComRateLimited,
    WeComTransientError,
    client_for,
    sync_client_for,
)
from siyu.wecom.models import AccessToken, ApiCall, RateWindow
from siyu.wecom.tests.client_fakes import (
    ClockSleep,
    ScriptedWeCom,
    api_of,
    async_client,
    body_of,
    sync_client,
)


@pytest.fixture
def corp(db):
    return CorpFactory(api_base_url="http://wecom.test/cgi-bin/")


@pytest.fixture
def wecom():
    return ScriptedWeCom()


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now().replace(second=10, microsecond=0),
                             tick=False) as traveller:
        yield ClockSleep(traveller)


def logged(corp, api=None):
    call_log.flush()
    rows = ApiCall.objects.for_corp(corp).order_by("id")
    return list(rows.filter(api=api) if api else rows)


# --- requests and tokens -------------------------------------------------------------------------

def test_get_call_sends_the_token_and_returns_wecoms_json(corp, wecom):
    wecom.script("externalcontact/get", {"errcode": 0, "errmsg": "ok",
                                         "external_contact": {"name": "张三"}})
    answer = sync_client(corp, wecom).get_external_contact("wmEXT1")
    assert answer == {"errcode": 0, "errmsg": "ok", "external_contact": {"name": "张三"}}
    request = wecom.calls("externalcontact/get")[0]
    assert request.method == "GET"
    assert str(request.url).startswith("http://wecom.test/cgi-bin/externalcontact/get?")
    assert request.url.params["external_userid"] == "wmEXT1"
    assert request.url.params["access_token"] == "TOKEN-1"
    gettoken = wecom.calls("gettoken")[0]
    assert gettoken.url.params["corpid"] == corp.corp_id
    assert gettoken.url.params["corpsecret"] == "contact-secret"


def test_post_body_is_utf8_json_without_unset_fields(corp, wecom):
    sync_client(corp, wecom).mark_tag("emp1", "wmEXT1", add_tag=["et1"])
    sync_client(corp, wecom).send_welcome_msg("CODE", text="欢迎光临")
    mark, welcome = wecom.calls("externalcontact/mark_tag")[0], \
        wecom.calls("externalcontact/send_welcome_msg")[0]
    assert mark.method == "POST"
    assert body_of(mark) == {"userid": "emp1", "external_userid": "wmEXT1", "add_tag": ["et1"]}
    assert "欢迎光临".encode() in welcome.content  # not \u-escaped
    assert body_of(welcome) == {"welcome_code": "CODE", "text": {"content": "欢迎光临"}}
    assert welcome.headers["content-type"].startswith("application/json")


def test_token_is_fetched_once_and_shared_by_clients_of_the_process(corp, wecom):
    first, second = sync_client(corp, wecom), sync_client(corp, wecom)
    for _ in range(3):
        first.get_follow_user_list()
        second.get_follow_user_list()
    assert len(wecom.calls("gettoken")) == 1
    row = AccessToken.objects.for_corp(corp).get(secret_kind="contact")
    assert row.token == "TOKEN-1" and row.refresh_claimed_until is None
    assert row.expires_at > timezone.now() + timedelta(seconds=7100)


def test_token_stored_by_another_process_is_used_without_gettoken(corp, wecom):
    from siyu.wecom.tests.client_fakes import isolated

    sync_client(corp, wecom, **isolated()).get_follow_user_list()
    sync_client(corp, wecom, **isolated()).get_follow_user_list()
    assert len(wecom.calls("gettoken")) == 1


@pytest.mark.parametrize("errcode", [42001, 40014, 40001])
def test_refused_token_is_refreshed_and_the_call_retried_once(corp, wecom, errcode):
    client = sync_client(corp, wecom)
    client.get_follow_user_list()
    wecom.script("externalcontact/get_follow_user_list", {"errcode": errcode, "errmsg": "x"})
    assert client.get_follow_user_list()["errcode"] == 0
    assert len(wecom.calls("gettoken")) == 2
    assert wecom.calls("externalcontact/get_follow_user_list")[-1].url.params[
        "access_token"] == "TOKEN-2"
    attempts = [(c.errcode, c.attempt)
                for c in logged(corp, "externalcontact/get_follow_user_list")]
    assert attempts == [(0, 1), (errcode, 1), (0, 2)]


def test_token_expired_at_wecom_mid_run_is_replaced(corp, wecom):
    client = sync_client(corp, wecom)
    client.get_follow_user_list()
    wecom.expire_tokens()  # WeCom answers 42001 to TOKEN-1 from now on
    assert client.get_follow_user_list()["errcode"] == 0
    assert client.get_follow_user_list()["errcode"] == 0
    assert wecom.issued == ["TOKEN-1", "TOKEN-2"]


def test_second_refusal_after_a_refresh_raises(corp, wecom):
    wecom.script("externalcontact/get", {"errcode": 40014, "errmsg": "invalid"},
                 {"errcode": 40014, "errmsg": "invalid"})
    with pytest.raises(WeComError) as caught:
        sync_client(corp, wecom).get_external_contact("wm1")
    assert caught.value.errcode == 40014 and not isinstance(caught.value, TransientError)
    assert len(wecom.calls("externalcontact/get")) == 2


def test_token_is_refreshed_before_it_expires(corp, wecom, clock):
    client = sync_client(corp, wecom, sleep=clock)
    client.get_follow_user_list()
    clock.traveller.shift(7200 - 6 * 60)  # 6 minutes left: still used
    client.get_follow_user_list()
    assert len(wecom.calls("gettoken")) == 1
    clock.traveller.shift(2 * 60)  # 4 minutes left: refreshed before use
    client.get_follow_user_list()
    assert len(wecom.calls("gettoken")) == 2
    assert wecom.calls("externalcontact/get_follow_user_list")[-1].url.params[
        "access_token"] == "TOKEN-2"


def test_bad_secret_raises_at_once_and_releases_the_claim(corp, wecom):
    corp.contact_secret = "wrong"
    corp.save()
    with pytest.raises(WeComError) as caught:
        sync_client(corp, wecom).get_follow_user_list()
    assert (caught.value.errcode, caught.value.api) == (40001, "gettoken")
    assert len(wecom.requests) == 1
    assert AccessToken.objects.for_corp(corp).get().refresh_claimed_until is None


def test_missing_secret_is_a_clear_error(corp, wecom):
    corp.contact_secret = ""
    corp.save()
    with pytest.raises(WeComError, match="no customer contact secret"):
        sync_client(corp, wecom).get_follow_user_list()
    assert wecom.requests == []


def test_jsapi_ticket_is_cached_across_calls(corp, wecom):
    wecom.script("get_jsapi_ticket", {"errcode": 0, "errmsg": "ok", "ticket": "T1",
                                      "expires_in": 7200})
    client = sync_client(corp, wecom)
    assert client.jsapi_ticket() == "T1"
    assert client.jsapi_ticket() == "T1"
    assert len(wecom.calls("get_jsapi_ticket")) == 1
    assert AccessToken.objects.for_corp(corp).get(secret_kind="jsapi_ticket").token == "T1"


# --- retries -------------------------------------------------------------------------------------

@pytest.mark.parametrize("failure", [
    {"errcode": -1, "errmsg": "system busy"},
    {"errcode": 45033, "errmsg": "api concurrent out of limit"},
    {"errcode": 41096, "errmsg": "another app is sending"},
    httpx.ConnectTimeout("connect timed out"),
    httpx.ReadTimeout("read timed out"),
    httpx.ConnectError("connection refused"),
    httpx.Response(502, text="Bad Gateway"),
], ids=["busy", "concurrency", "welcome-busy", "connect-timeout", "read-timeout", "refused",
        "http-502"])
def test_transient_failures_are_retried_with_exponential_backoff(corp, wecom, failure):
    sleep = ClockSleep()
    wecom.script("externalcontact/get", failure, failure)
    answer = sync_client(corp, wecom, sleep=sleep).get_external_contact("wm1")
    assert answer["errcode"] == 0
    assert sleep.waits == [1.0, 2.0]
    assert [c.attempt for c in logged(corp, "externalcontact/get")] == [1, 2, 3]


def test_exhausted_retries_raise_a_transient_error_for_job_retries(corp, wecom):
    sleep = ClockSleep()
    wecom.script("externalcontact/get", *[{"errcode": -1, "errmsg": "system busy"}] * 5)
    with pytest.raises(WeComTransientError) as caught:
        sync_client(corp, wecom, sleep=sleep).get_external_contact("wm1")
    assert isinstance(caught.value, TransientError) and isinstance(caught.value, WeComError)
    assert caught.value.errcode == -1 and caught.value.api == "externalcontact/get"
    assert sleep.waits == [1.0, 2.0, 4.0, 8.0]
    assert len(wecom.calls("externalcontact/get")) == 5


def test_backoff_base_is_configurable(corp, wecom, settings):
    settings.SIYU_WECOM_RETRY_BASE_SECONDS = 0.25
    settings.SIYU_WECOM_RETRY_MAX_TRIES = 3
    sleep = ClockSleep()
    wecom.script("externalcontact/get", *[{"errcode": -1}] * 3)
    client = SyncWeComClient(corp, transport=httpx.MockTransport(wecom), sleep=sleep)
    with pytest.raises(WeComTransientError):
        client.get_external_contact("wm1")
    assert sleep.waits == [0.25, 0.5]


def test_network_error_on_gettoken_is_retried(corp, wecom):
    sleep = ClockSleep()
    wecom.script("gettoken", httpx.ConnectTimeout("timed out"))
    assert sync_client(corp, wecom, sleep=sleep).get_follow_user_list()["errcode"] == 0
    assert sleep.waits == [1.0]
    assert [c.errcode for c in logged(corp, "gettoken")] == [None, 0]


@pytest.mark.parametrize("errcode", [40096, 84061, 41051, 48002, 60020])
def test_other_errcodes_raise_at_once(corp, wecom, errcode):
    wecom.script("externalcontact/get", {"errcode": errcode, "errmsg": "nope"})
    with pytest.raises(WeComError) as caught:
        sync_client(corp, wecom).get_external_contact("wm1")
    assert (caught.value.errcode, caught.value.errmsg, caught.value.api) == (
        errcode, "nope", "externalcontact/get")
    assert not isinstance(caught.value, TransientError)
    assert len(wecom.calls("externalcontact/get")) == 1


def test_non_json_answer_is_a_wecom_error(corp, wecom):
    wecom.script("externalcontact/get", httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(WeComError, match="not a JSON object"):
        sync_client(corp, wecom).get_external_contact("wm1")


# --- 45009 ---------------------------------------------------------------------------------------

def test_45009_blocks_the_api_for_a_minute_and_waits_it_out(corp, wecom, clock):
    wecom.script("externalcontact/get", {"errcode": 45009, "errmsg": "api freq out of limit"})
    client = sync_client(corp, wecom, sleep=clock)
    assert client.get_external_contact("wm1")["errcode"] == 0
    assert len(clock.waits) == 1 and 60 <= clock.waits[0] < 61
    block = RateWindow.objects.for_corp(corp).get(api="externalcontact/get", window="minute",
                                                  blocked_until__isnull=False)
    assert block.blocked_until > timezone.now() - timedelta(seconds=2)
    assert [c.errcode for c in logged(corp, "externalcontact/get")] == [45009, 0]


def test_a_blocked_api_is_not_called_by_other_processes(corp, wecom, clock):
    from siyu.wecom.tests.client_fakes import isolated

    wecom.script("externalcontact/get", {"errcode": 45009, "errmsg": "api freq out of limit"})
    with pytest.raises(WeComRateLimited):
        sync_client(corp, wecom, sleep=clock, max_wait=5).get_external_contact("wm1")
    other = sync_client(corp, wecom, sleep=clock, max_wait=5, **isolated())
    with pytest.raises(WeComRateLimited) as caught:
        other.get_external_contact("wm1")
    assert 55 < caught.value.retry_after <= 61
    assert len(wecom.calls("externalcontact/get")) == 1  # nobody hammered the blocked API
    other.get_follow_user_list()  # other APIs are not blocked


def test_hour_limit_45009_raises_rate_limited_for_the_job_to_retry(corp, wecom, clock):
    wecom.script("externalcontact/get", {"errcode": 45009, "errmsg": "150000 calls per hour"})
    with pytest.raises(WeComRateLimited) as caught:
        sync_client(corp, wecom, sleep=clock).get_external_contact("wm1")
    assert isinstance(caught.value, TransientError)
    assert 3590 < caught.value.retry_after <= 3601
    assert clock.waits == []


def test_45009_again_right_after_a_minute_block_means_the_hour_limit(corp, wecom, clock):
    wecom.script("externalcontact/get", {"errcode": 45009, "errmsg": "freq"},
                 {"errcode": 45009, "errmsg": "freq"})
    with pytest.raises(WeComRateLimited) as caught:
        sync_client(corp, wecom, sleep=clock).get_external_contact("wm1")
    assert clock.waits and 60 <= clock.waits[0] < 61
    assert caught.value.retry_after > 3000


# --- call log ------------------------------------------------------------------------------------

def test_every_call_is_recorded(corp, wecom):
    wecom.script("externalcontact/get", {"errcode": -1, "errmsg": "system busy"},
                 {"errcode": 0, "errmsg": "ok", "external_contact": {}})
    sync_client(corp, wecom).get_external_contact("wm1")
    rows = [(c.api, c.errcode, c.errmsg, c.http_status, c.attempt) for c in logged(corp)]
    assert rows == [("gettoken", 0, "ok", 200, 1),
                    ("externalcontact/get", -1, "system busy", 200, 1),
                    ("externalcontact/get", 0, "ok", 200, 2)]
    assert all(c.latency_ms >= 0 and c.created_at for c in logged(corp))


def test_network_errors_are_recorded_without_errcode(corp, wecom):
    wecom.script("externalcontact/get", httpx.ReadTimeout("read timed out"))
    sync_client(corp, wecom).get_external_contact("wm1")
    failed = logged(corp, "externalcontact/get")[0]
    assert failed.errcode is None and failed.http_status is None
    assert failed.errmsg == "ReadTimeout: read timed out"


def test_closing_the_client_writes_the_rows_it_left(corp, wecom, settings):
    settings.SIYU_WECOM_CALL_LOG_FLUSH_SECONDS = 3600
    with sync_client(corp, wecom) as client:
        for _ in range(3):
            client.get_follow_user_list()
        assert call_log.pending() > 0
    assert call_log.pending() == 0
    assert ApiCall.objects.for_corp(corp).count() == 4


# --- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda c: c.add_contact_way(type=1, scene=2, state="x" * 31, user=["emp1"]),
    lambda c: c.send_welcome_msg("CODE", attachments=[{"msgtype": "image"}] * 10),
    lambda c: c.transfer_customer("a", "b", [f"wm{i}" for i in range(101)]),
    lambda c: c.add_join_way(scene=2, chat_id_list=[f"wr{i}" for i in range(6)]),
    lambda c: c.batch_get_by_user(["emp1"], limit=101),
], ids=["state", "attachments", "transfer", "join-way", "batch-limit"])
def test_documented_limits_are_checked_before_calling(corp, wecom, call):
    with pytest.raises(ValueError, match="WeCom allows"):
        call(sync_client(corp, wecom))
    assert wecom.requests == []


@pytest.mark.parametrize("method, args, kwargs, http, api, sent", [
    ("department_list", (), {}, "GET", "department/list", {}),
    ("user_list", (3,), {}, "GET", "user/list", {"department_id": "3"}),
    ("list_external_contacts", ("emp1",), {}, "GET", "externalcontact/list", {"userid": "emp1"}),
    ("batch_get_by_user", (["emp1", "emp2"],), {"cursor": "C1"}, "POST",
     "externalcontact/batch/get_by_user",
     {"userid_list": ["emp1", "emp2"], "cursor": "C1", "limit": 100}),
    ("groupchat_list", (), {"owner_filter": ["emp1"]}, "POST", "externalcontact/groupchat/list",
     {"status_filter": 0, "owner_filter": {"userid_list": ["emp1"]}, "limit": 100}),
    ("add_corp_tag", ([{"name": "VIP"}],), {"group_name": "等级"}, "POST",
     "externalcontact/add_corp_tag", {"tag": [{"name": "VIP"}], "group_name": "等级"}),
    ("resigned_transfer_customer", ("a", "b", ["wm1"]), {}, "POST",
     "externalcontact/resigned/transfer_customer",
     {"handover_userid": "a", "takeover_userid": "b", "external_userid": ["wm1"]}),
    ("get_moment_task_result", ("J1",), {}, "GET", "externalcontact/get_moment_task_result",
     {"jobid": "J1"}),
    ("get_agent_config_ticket", (), {}, "GET", "ticket/get", {"type": "agent_config"}),
    ("auth_getuserinfo", ("CODE",), {}, "GET", "auth/getuserinfo", {"code": "CODE"}),
])
def test_typed_methods_call_the_documented_paths(corp, wecom, method, args, kwargs, http, api,
                                                 sent):
    getattr(sync_client(corp, wecom), method)(*args, **kwargs)
    request = next(r for r in wecom.requests if api_of(r) != "gettoken")
    assert (request.method, api_of(request)) == (http, api)
    if http == "GET":
        params = dict(request.url.params)
        params.pop("access_token")
        assert params == sent
    else:
        assert body_of(request) == sent


# --- the async client and the per-loop / per-thread clients --------------------------------------

def test_async_client_shares_one_token_across_concurrent_calls(corp, wecom):
    async def run():
        async with async_client(corp, wecom) as client:
            return await asyncio.gather(*(client.get_external_contact(f"wm{i}")
                                          for i in range(20)))

    answers = async_to_sync(run)()
    assert [a["errcode"] for a in answers] == [0] * 20
    assert len(wecom.calls("gettoken")) == 1
    assert len(logged(corp, "externalcontact/get")) == 20


def test_async_client_retries_and_refreshes_like_the_sync_one(corp, wecom):
    sleep = ClockSleep()
    wecom.script("externalcontact/get", {"errcode": -1, "errmsg": "busy"},
                 {"errcode": 42001, "errmsg": "expired"})

    async def run():
        async with async_client(corp, wecom, sleep=sleep) as client:
            return await client.get_external_contact("wm1")

    assert async_to_sync(run)()["errcode"] == 0
    assert sleep.waits == [1.0]
    assert len(wecom.calls("gettoken")) == 2


def test_async_client_raises_wecom_errors(corp, wecom):
    wecom.script("externalcontact/get", {"errcode": 84061, "errmsg": "no relationship"})

    async def run():
        async with async_client(corp, wecom) as client:
            await client.get_external_contact("wm1")

    with pytest.raises(WeComError) as caught:
        async_to_sync(run)()
    assert caught.value.errcode == 84061


def test_client_for_is_one_client_per_corp_per_loop(corp):
    other = CorpFactory()

    async def run():
        first = client_for(corp)
        assert client_for(corp) is first and client_for(other) is not first
        assert isinstance(first, WeComClient) and first.base_url == corp.api_base_url
        await first.aclose()
        replacement = client_for(corp)
        assert replacement is not first  # a closed client is retired
        await replacement.aclose()
        await client_for(other).aclose()
        return first

    first = async_to_sync(run)()
    assert first.closed


def test_client_for_needs_a_running_loop(corp):
    with pytest.raises(RuntimeError):
        client_for(corp)


def test_sync_client_for_is_one_client_per_corp_per_thread(corp):
    import threading

    client = sync_client_for(corp)
    assert sync_client_for(corp) is client
    assert isinstance(client, SyncWeComClient) and client.base_url == corp.api_base_url
    seen = []
    thread = threading.Thread(target=lambda: seen.append(sync_client_for(corp)))
    thread.start()
    thread.join()
    assert seen[0] is not client
    seen[0].http.close()
    client.close()
    assert sync_client_for(corp) is not client


def test_sync_client_works_inside_async_to_sync_code(corp, wecom):
    """Handlers may run under async_to_sync's thread; the sync client runs no loop of its own."""
    from asgiref.sync import sync_to_async

    def handler():
        return sync_client(corp, wecom).get_follow_user_list()

    async def outer():
        return await sync_to_async(handler)()

    assert async_to_sync(outer)()["errcode"] == 0
