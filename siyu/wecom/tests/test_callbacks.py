"""The callback endpoint: URL verification, storing events, retries, replays, hostile input."""

import base64
import io
import logging
import time

import pytest
import time_machine
from django.test import Client
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siyu.accounts.tests.factories import CorpFactory
from siyu.core import events
from siyu.core.events import Subscription
from siyu.wecom.callback_events import ContactAdded
from siyu.wecom.crypto import WeComCrypto
from siyu.wecom.events import dedupe_key, parse_event
from siyu.wecom.models import WeComEvent
from siyu.wecom.tests import test_crypto as vectors
from siyu.wecom.tests.callback_helpers import (
    callback_url,
    contact_xml,
    crypto_for_corp,
    event_xml,
    post_callback,
    post_raw,
    signed_request,
)

TASK_PATHS = ("siyu.wecom.tasks.dispatch_wecom_events",)
LOGGER = "siyu.wecom.callbacks"


def events_of(corp):
    return WeComEvent.objects.for_corp(corp)


def dispatch_jobs():
    return DBTaskResult.objects.filter(task_path__in=TASK_PATHS)


def rejection_logged(caplog, reason, corp_id) -> bool:
    return any(
        r.levelno == logging.WARNING and r.name == LOGGER
        and f"reason={reason}" in r.getMessage() and f"corp={corp_id}" in r.getMessage()
        for r in caplog.records
    )


# --- GET: URL verification ---------------------------------------------------------------------

@pytest.mark.django_db
def test_get_answers_the_bare_decrypted_echostr_of_the_wechatpy_vector(client):
    CorpFactory(corp_id=vectors.WX_RECEIVE_ID, callback_token=vectors.WX_TOKEN,
                encoding_aes_key=vectors.WX_AES_KEY)
    response = client.get(callback_url(vectors.WX_RECEIVE_ID), vectors.WX_GET)
    assert response.status_code == 200
    assert response.content == b"5927782489442352469"
    assert response["Content-Type"].startswith("text/plain")


def test_get_with_our_own_echostr(client, world):
    crypto = crypto_for_corp(world.corp)
    echostr, signature, timestamp, nonce = crypto.encrypt("7026432887123456789")
    response = client.get(callback_url(world.corp.corp_id), {
        "msg_signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr})
    assert response.status_code == 200 and response.content == b"7026432887123456789"


def test_get_with_a_wrong_signature_is_403_and_logged(client, world, caplog):
    echostr, _sig, timestamp, nonce = crypto_for_corp(world.corp).encrypt("123")
    response = client.get(callback_url(world.corp.corp_id), {
        "msg_signature": "f" * 40, "timestamp": timestamp, "nonce": nonce, "echostr": echostr})
    assert response.status_code == 403
    assert b"bad_signature" in response.content
    assert rejection_logged(caplog, "bad_signature", world.corp.corp_id)


def test_get_without_echostr_is_400(client, world):
    response = client.get(callback_url(world.corp.corp_id),
                          {"msg_signature": "x", "timestamp": "1", "nonce": "2"})
    assert response.status_code == 400 and b"missing_params" in response.content


# --- POST: store and acknowledge; the feeder dispatches ----------------------------------------

def test_post_stores_the_event_answers_200_empty_and_enqueues_nothing(world):
    xml = contact_xml(world.corp.corp_id, State="channel_a", WelcomeCode="WELCOME1",
                      create_time=1_700_000_000)
    # CSRF checks on: the endpoint must be exempt (WeCom signs instead).
    csrf_client = Client(enforce_csrf_checks=True)
    response = post_callback(csrf_client, world.corp, xml)
    assert response.status_code == 200 and response.content == b""
    event = events_of(world.corp).get()
    assert event.status == WeComEvent.Status.STORED
    assert (event.event, event.change_type, event.create_time) == (
        "change_external_contact", "add_external_contact", 1_700_000_000)
    assert event.raw_xml == xml
    assert event.payload["WelcomeCode"] == "WELCOME1" and event.payload["State"] == "channel_a"
    assert event.payload["CreateTime"] == 1_700_000_000
    assert event.dedupe_key == ("change_external_contact:add_external_contact:zhangsan:"
                                "wmEXT001:1700000000")
    # One row and no job: the feeder hands the event to a worker, in order per customer.
    assert not dispatch_jobs().exists()
    assert event.status == WeComEvent.Status.STORED and event.ordering_key == "c:wmEXT001"
    # An add with a WelcomeCode awaits its welcome from the welcome lane.
    assert event.welcome_due


def test_the_request_runs_no_handler_and_few_queries(client, world, monkeypatch,
                                                      django_assert_max_num_queries):
    calls = []
    monkeypatch.setitem(events._subscriptions, ContactAdded.name,
                        [Subscription(ContactAdded.name, "test.recorder", calls.append)])
    with django_assert_max_num_queries(10):
        response = post_callback(client, world.corp, contact_xml(world.corp.corp_id))
    assert response.status_code == 200
    assert calls == []  # subscribers run in the worker, never in the request


@pytest.mark.django_db
def test_wechatpy_post_vector_is_accepted_at_its_own_time(client):
    CorpFactory(corp_id=vectors.WX_RECEIVE_ID, callback_token=vectors.WX_TOKEN,
                encoding_aes_key=vectors.WX_AES_KEY)
    with time_machine.travel(int(vectors.WX_POST["timestamp"]) + 3, tick=False):
        response = post_raw(client, vectors.WX_RECEIVE_ID,
                            "&".join(f"{k}={v}" for k, v in vectors.WX_POST.items()),
                            vectors.wx_post_body())
    assert response.status_code == 200
    event = WeComEvent.objects.unscoped().get(corp__corp_id=vectors.WX_RECEIVE_ID)
    assert event.payload["Content"] == "test" and event.payload["MsgType"] == "text"
    assert event.dedupe_key.startswith("xml:")  # not a change event: keyed by its content


def test_exact_redelivery_is_200_and_stores_nothing_twice(client, world,
                                                          django_capture_on_commit_callbacks):
    query, body = signed_request(world.corp, contact_xml(world.corp.corp_id))
    with django_capture_on_commit_callbacks(execute=True):
        first = post_raw(client, world.corp.corp_id, query, body)
        second = post_raw(client, world.corp.corp_id, query, body)
    assert first.status_code == second.status_code == 200
    assert events_of(world.corp).count() == 1


def test_wecom_retry_with_a_fresh_nonce_is_200_and_not_doubled(
        client, world, django_capture_on_commit_callbacks):
    xml = contact_xml(world.corp.corp_id, create_time=int(time.time()))
    with django_capture_on_commit_callbacks(execute=True):
        for nonce in ("111", "222", "333"):
            assert post_callback(client, world.corp, xml, nonce=nonce).status_code == 200
    assert events_of(world.corp).count() == 1


@pytest.mark.django_db(transaction=True)
def test_redelivery_and_replay_in_autocommit_mode_as_in_production(client):
    # The other tests run inside a transaction (savepoints); production inserts in autocommit.
    corp = CorpFactory()
    now = int(time.time())
    query, body = signed_request(corp, contact_xml(corp.corp_id), nonce="5150", timestamp=now)
    assert post_raw(client, corp.corp_id, query, body).status_code == 200
    assert post_raw(client, corp.corp_id, query, body).status_code == 200
    other = contact_xml(corp.corp_id, external_userid="wmOTHER")
    assert post_callback(client, corp, other, nonce="5150", timestamp=now).status_code == 403
    assert events_of(corp).count() == 1


def test_reused_nonce_with_another_message_is_a_replay(client, world, caplog):
    now = int(time.time())
    assert post_callback(client, world.corp, contact_xml(world.corp.corp_id),
                         nonce="4242", timestamp=now).status_code == 200
    other = contact_xml(world.corp.corp_id, external_userid="wmOTHER")
    response = post_callback(client, world.corp, other, nonce="4242", timestamp=now)
    assert response.status_code == 403 and b"replayed_nonce" in response.content
    assert rejection_logged(caplog, "replayed_nonce", world.corp.corp_id)
    assert events_of(world.corp).count() == 1


def test_same_nonce_in_another_corp_is_fine(client, world, other_world):
    assert post_callback(client, world.corp, contact_xml(world.corp.corp_id),
                         nonce="777").status_code == 200
    assert post_callback(client, other_world.corp, contact_xml(other_world.corp.corp_id),
                         nonce="777").status_code == 200
    assert WeComEvent.objects.unscoped().filter(nonce="777").count() == 2


@pytest.mark.parametrize(("skew", "accepted"), [(-300, True), (300, True), (-301, False),
                                                (301, False), (100_000, False)])
def test_timestamps_are_accepted_within_the_window_only(client, world, caplog, skew, accepted):
    with time_machine.travel(1_750_000_000, tick=False):
        response = post_callback(client, world.corp, contact_xml(world.corp.corp_id),
                                 timestamp=1_750_000_000 + skew)
    if accepted:
        assert response.status_code == 200
        return
    assert response.status_code == 403 and b"stale_timestamp" in response.content
    assert rejection_logged(caplog, "stale_timestamp", world.corp.corp_id)
    assert not events_of(world.corp).exists()


def test_window_is_a_setting(client, world, settings):
    settings.SIYU_WECOM_CALLBACK_WINDOW_SECONDS = 5
    late = post_callback(client, world.corp, contact_xml(world.corp.corp_id),
                         timestamp=int(time.time()) - 30)
    assert late.status_code == 403


def test_unknown_event_types_are_stored(client, world):
    xml = event_xml(world.corp.corp_id, Event="some_future_event", Detail="x")
    assert post_callback(client, world.corp, xml).status_code == 200
    event = events_of(world.corp).get()
    assert event.event == "some_future_event" and event.dedupe_key.startswith("xml:")


def test_same_event_sent_to_two_corps_is_stored_in_each(client, world, other_world):
    for w in (world, other_world):
        xml = contact_xml(w.corp.corp_id, create_time=1_700_000_500)
        assert post_callback(client, w.corp, xml).status_code == 200
    assert events_of(world.corp).count() == events_of(other_world.corp).count() == 1


# --- rejected input: a clear 4xx and a WARNING, never a 500, nothing stored --------------------

def _corrupt(body: bytes, old: bytes, new: bytes) -> bytes:
    assert old in body
    return body.replace(old, new, 1)


def encrypted_for(corp, data: bytes) -> str:
    return vectors.raw_encrypt(corp.encoding_aes_key, data)


def envelope(corp, encrypt: str, *, timestamp=None, nonce="9001"):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = crypto_for_corp(corp).signature(timestamp, nonce, encrypt)
    body = (f"<xml><ToUserName><![CDATA[{corp.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()
    return f"msg_signature={signature}&timestamp={timestamp}&nonce={nonce}", body


def case_bad_signature(corp):
    query, body = signed_request(corp, contact_xml(corp.corp_id))
    return query.replace("msg_signature=", "msg_signature=0"), body


def case_bad_base64(corp):
    return envelope(corp, "@@not-base64@@")


def case_bad_padding(corp):
    return envelope(corp, encrypted_for(corp, bytes(64)))


def case_bad_length(corp):
    return envelope(corp, encrypted_for(corp, bytes(48)))


def case_wrong_receiveid(corp):
    other = WeComCrypto(corp.callback_token, corp.encoding_aes_key, "wwsomebodyelse")
    encrypt = other.encrypt(contact_xml(corp.corp_id))[0]
    return envelope(corp, encrypt)


def case_truncated_body(corp):
    query, body = signed_request(corp, contact_xml(corp.corp_id))
    return query, body[: len(body) // 2]


def case_truncated_ciphertext(corp):
    encrypt = crypto_for_corp(corp).encrypt(contact_xml(corp.corp_id))[0]
    cut = base64.b64encode(base64.b64decode(encrypt)[:-32]).decode()
    return envelope(corp, cut)


def case_billion_laughs(corp):
    query, _body = signed_request(corp, "<xml/>")
    return query, vectors.BILLION_LAUGHS


def case_external_entity(corp):
    query, _body = signed_request(corp, "<xml/>")
    return query, vectors.EXTERNAL_ENTITY


def case_bomb_inside_the_encrypted_message(corp):
    return signed_request(corp, vectors.BILLION_LAUGHS.decode())


def case_not_xml_inside(corp):
    return signed_request(corp, "this is not xml")


def case_missing_signature(corp):
    query, body = signed_request(corp, contact_xml(corp.corp_id))
    return query.split("&", 1)[1], body


def case_bad_timestamp(corp):
    query, body = signed_request(corp, contact_xml(corp.corp_id))
    return query.replace("timestamp=", "timestamp=x"), body


def case_oversized_declared(corp):
    query, _body = signed_request(corp, "<xml/>")
    return query, b"<xml><Encrypt>" + b"A" * 70_000 + b"</Encrypt></xml>"


REJECTIONS = [
    (case_bad_signature, 403, "bad_signature"),
    (case_bad_base64, 400, "bad_base64"),
    (case_bad_padding, 400, "bad_padding"),
    (case_bad_length, 400, "bad_length"),
    (case_wrong_receiveid, 403, "bad_receiveid"),
    (case_truncated_body, 400, "bad_xml"),
    (case_truncated_ciphertext, 400, "bad_padding"),
    (case_billion_laughs, 400, "bad_xml"),
    (case_external_entity, 400, "bad_xml"),
    (case_bomb_inside_the_encrypted_message, 400, "bad_xml"),
    (case_not_xml_inside, 400, "bad_xml"),
    (case_missing_signature, 400, "missing_params"),
    (case_bad_timestamp, 400, "bad_timestamp"),
    (case_oversized_declared, 413, "too_large"),
]


@pytest.mark.parametrize(("make", "status", "reason"), REJECTIONS,
                         ids=[r[2] + ":" + r[0].__name__[5:] for r in REJECTIONS])
def test_rejections(client, world, caplog, make, status, reason):
    query, body = make(world.corp)
    response = post_raw(client, world.corp.corp_id, query, body)
    assert response.status_code == status, response.content
    assert response.content.startswith(reason.encode() + b": ")
    assert len(response.content) < 200
    assert rejection_logged(caplog, reason, world.corp.corp_id)
    assert not events_of(world.corp).exists()
    assert not WeComEvent.objects.for_corp(world.corp).filter(nonce__gt="").exists()


QUERY_VALUES = st.text(max_size=50) | st.sampled_from(["", "1", str(int(time.time()))])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=600) | st.builds(str.encode, st.text(max_size=300)),
       signature=QUERY_VALUES, timestamp=QUERY_VALUES, nonce=QUERY_VALUES,
       method=st.sampled_from(["GET", "POST"]))
def test_arbitrary_input_never_gets_a_500(client, world, body, signature, timestamp, nonce,
                                          method):
    params = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
    if method == "GET":
        response = client.get(callback_url(world.corp.corp_id),
                              {**params, "echostr": body.decode(errors="replace")})
    else:
        response = client.generic("POST", callback_url(world.corp.corp_id) + "?" +
                                  "&".join(f"{k}={v}" for k, v in params.items()), body,
                                  content_type="text/xml")
    assert response.status_code in {400, 403, 413}, response.content
    assert not events_of(world.corp).exists()


def test_oversized_body_is_refused_without_reading_it(client, world, settings, monkeypatch):
    settings.SIYU_WECOM_CALLBACK_MAX_BYTES = 1024
    query, body = signed_request(world.corp, contact_xml(world.corp.corp_id, Pad="x" * 2000))
    from django.core.handlers.wsgi import WSGIRequest

    def refuse(*args, **kwargs):
        raise AssertionError("the body was read")

    monkeypatch.setattr(WSGIRequest, "read", refuse)
    response = post_raw(client, world.corp.corp_id, query, body)
    assert response.status_code == 413


def test_body_limit_applies_when_no_length_is_declared(world, settings, rf):
    from siyu.wecom.callbacks import callback_view

    settings.SIYU_WECOM_CALLBACK_MAX_BYTES = 1024
    query, body = signed_request(world.corp, contact_xml(world.corp.corp_id, Pad="x" * 2000))
    request = rf.generic("POST", f"{callback_url(world.corp.corp_id)}?{query}", body,
                         content_type="text/xml")
    request.META.pop("CONTENT_LENGTH")
    request._stream = io.BytesIO(body)  # a stream without a declared length
    assert callback_view(request, world.corp.corp_id).status_code == 413


def test_unknown_corp_is_404_and_logged(client, world, caplog):
    query, body = signed_request(world.corp, contact_xml(world.corp.corp_id))
    response = post_raw(client, "wwnobody", query, body)
    assert response.status_code == 404
    assert rejection_logged(caplog, "unknown_corp", "wwnobody")
    assert client.get(callback_url("wwnobody")).status_code == 404


def test_inactive_corp_is_404(client, world):
    world.corp.is_active = False
    world.corp.save()
    assert post_callback(client, world.corp, contact_xml(world.corp.corp_id)).status_code == 404


def test_corp_without_callback_settings_is_403_not_500(client, db, caplog):
    corp = CorpFactory(callback_token="", encoding_aes_key="")
    response = client.post(f"{callback_url(corp.corp_id)}?msg_signature=a&timestamp="
                           f"{int(time.time())}&nonce=1", b"<xml/>", content_type="text/xml")
    assert response.status_code == 403
    assert rejection_logged(caplog, "not_configured", corp.corp_id)


def test_signed_for_another_corp_is_refused(client, world, other_world):
    # other_world's corp shares the factory's token and key, but not the CorpID.
    query, body = signed_request(other_world.corp, contact_xml(other_world.corp.corp_id))
    response = post_raw(client, world.corp.corp_id, query, body)
    assert response.status_code == 403 and b"bad_receiveid" in response.content


def test_other_methods_are_405(client, world):
    assert client.put(callback_url(world.corp.corp_id)).status_code == 405


def test_bench_bare_endpoint_is_absent_in_normal_operation(client, world):
    query, body = signed_request(world.corp, contact_xml(world.corp.corp_id))
    assert client.post(f"/wecom/bench-bare/{world.corp.corp_id}/?{query}", body,
                       content_type="text/xml").status_code == 404


def test_bench_bare_view_refuses_when_the_setting_is_off(world, rf, settings):
    from django.http import Http404

    from siyu.wecom.callbacks import bench_bare_view

    settings.SIYU_BENCH_BARE_ENDPOINT = False
    with pytest.raises(Http404):
        bench_bare_view(rf.post("/"), world.corp.corp_id)


def test_bench_bare_view_verifies_decrypts_and_inserts(world, rf, settings):
    from siyu.wecom.callbacks import bench_bare_view

    settings.SIYU_BENCH_BARE_ENDPOINT = True
    query, body = signed_request(world.corp, contact_xml(world.corp.corp_id))
    request = rf.generic("POST", f"/wecom/bench-bare/x/?{query}", body, content_type="text/xml")
    assert bench_bare_view(request, world.corp.corp_id).status_code == 200
    again = rf.generic("POST", f"/wecom/bench-bare/x/?{query}", body, content_type="text/xml")
    assert bench_bare_view(again, world.corp.corp_id).status_code == 200  # a re-send
    event = events_of(world.corp).get()
    assert event.status == WeComEvent.Status.IGNORED and "wmEXT001" in event.raw_xml
    bad = rf.generic("POST", "/x/?msg_signature=0&timestamp=1&nonce=2", body,
                     content_type="text/xml")
    assert bench_bare_view(bad, world.corp.corp_id).status_code == 403


# --- parsing and dedupe keys -------------------------------------------------------------------

def test_member_change_list_in_both_formats_is_a_list():
    items = parse_event(event_xml("ww1", Event="change_external_chat", ChangeType="update",
                                  ChatId="wrCHAT", UpdateDetail="add_member", JoinScene="3",
                                  MemChangeCnt="2", MemChangeList=["wmA", "zhangsan"]))
    csv = parse_event(event_xml("ww1", Event="change_external_chat", ChangeType="update",
                                ChatId="wrCHAT", UpdateDetail="add_member", JoinScene="3",
                                MemChangeCnt="2", MemChangeList="wmA, zhangsan,"))
    assert items["MemChangeList"] == csv["MemChangeList"] == ["wmA", "zhangsan"]
    assert items["JoinScene"] == "3" and items["ChatId"] == "wrCHAT"


def test_payload_is_flat_with_int_create_time():
    payload = parse_event(contact_xml("ww1", "del_external_contact", Source="DELETE_BY_TRANSFER",
                                      create_time=1_700_000_123))
    assert payload == {
        "ToUserName": "ww1", "FromUserName": "sys", "CreateTime": 1_700_000_123,
        "MsgType": "event", "Event": "change_external_contact",
        "ChangeType": "del_external_contact", "UserID": "zhangsan",
        "ExternalUserID": "wmEXT001", "Source": "DELETE_BY_TRANSFER",
    }


def test_dedupe_keys():
    def key(xml):
        return dedupe_key(parse_event(xml), xml)

    base = contact_xml("ww1", create_time=1)
    assert key(base) == key(contact_xml("ww1", create_time=1))
    assert key(base) != key(contact_xml("ww1", create_time=2))
    assert key(base) != key(contact_xml("ww1", "del_follow_user", create_time=1))
    assert key(base) != key(contact_xml("ww1", userid="lisi", create_time=1))
    tag = event_xml("ww1", Event="change_external_tag", ChangeType="create", Id="et1",
                    TagType="tag", create_time=5)
    group = event_xml("ww1", Event="change_external_tag", ChangeType="create", Id="et1",
                      TagType="tag_group", create_time=5)
    assert key(tag) == "change_external_tag:create:tag:et1:5" and key(tag) != key(group)
    add = event_xml("ww1", Event="change_external_chat", ChangeType="update", ChatId="wr1",
                    UpdateDetail="add_member", MemChangeList=["a"], create_time=9)
    remove = event_xml("ww1", Event="change_external_chat", ChangeType="update", ChatId="wr1",
                       UpdateDetail="del_member", MemChangeList=["a"], create_time=9)
    assert key(add) != key(remove)
    assert key(add).startswith("change_external_chat:update:wr1:9:")
    long_id = contact_xml("ww1", external_userid="x" * 300, create_time=1)
    assert len(key(long_id)) <= 255
