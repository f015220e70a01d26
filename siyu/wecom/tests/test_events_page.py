"""The console's WeCom callbacks page: admins only, own enterprise only, re-dispatch."""

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from siyu.core.models import AuditLog
from siyu.wecom import feeder
from siyu.wecom.models import WeComEvent
from siyu.wecom.tests.callback_helpers import event_xml
from siyu.wecom.tests.test_dispatch import store

Status = WeComEvent.Status
LIST_URL = "/wecom/events/"


def detail_url(event):
    return reverse("wecom:event_detail", args=[event.pk])


def redispatch_url(event):
    return reverse("wecom:event_redispatch", args=[event.pk])


def chat_event(corp, **changes):
    xml = event_xml(corp.corp_id, Event="change_external_chat", ChangeType="update",
                    ChatId=f"wr{corp.corp_id}", UpdateDetail="add_member",
                    MemChangeList=["wmGUEST1", "wmGUEST2"])
    return store(corp, xml, **changes)


def contact_event(corp, **changes):
    xml = event_xml(corp.corp_id, Event="change_external_contact", ChangeType="del_follow_user",
                    UserID="zhangsan", ExternalUserID=f"wmX{corp.corp_id}")
    return store(corp, xml, **changes)


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin)
    return client


def test_urls():
    assert reverse("wecom:events") == LIST_URL


def test_admin_sees_own_corps_callbacks_only(admin_client, world, other_world):
    mine = chat_event(world.corp)
    theirs = chat_event(other_world.corp)
    response = admin_client.get(LIST_URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"event-{mine.pk}" in body and mine.dedupe_key in body
    assert f"event-{theirs.pk}" not in body and theirs.dedupe_key not in body


@pytest.mark.parametrize("role", ["manager", "staff_a", "staff_b"])
def test_non_admins_get_403_everywhere(client, world, role):
    event = chat_event(world.corp)
    client.force_login(getattr(world, role))
    assert client.get(LIST_URL).status_code == 403
    assert client.get(detail_url(event)).status_code == 403
    assert client.post(redispatch_url(event)).status_code == 403
    assert DBTaskResult.objects.count() == 0


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(LIST_URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_filters_by_status_and_event(admin_client, world):
    failed = contact_event(world.corp, status=Status.FAILED, error="boom")
    chat = chat_event(world.corp, status=Status.DISPATCHED)

    def listed(**query):
        body = admin_client.get(LIST_URL, query).content.decode()
        return {pk for pk in (failed.pk, chat.pk) if f"event-{pk}" in body}

    assert listed() == {failed.pk, chat.pk}
    assert listed(status="failed") == {failed.pk}
    assert listed(event="change_external_chat") == {chat.pk}
    assert listed(status="failed", event="change_external_chat") == set()
    assert listed(status="nonsense") == {failed.pk, chat.pk}  # ignored, not an error


def test_htmx_filter_gets_the_partial(admin_client, world):
    chat_event(world.corp)
    response = admin_client.get(LIST_URL, {"status": "stored"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<html" not in response.content and b"event-" in response.content


def test_detail_shows_raw_and_parsed(admin_client, world):
    event = chat_event(world.corp, status=Status.FAILED, error="TransientError: busy")
    body = admin_client.get(detail_url(event), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "&lt;MemChangeList&gt;" in body  # raw XML, escaped
    assert "UpdateDetail" in body and "add_member" in body  # parsed fields
    assert "[&quot;wmGUEST1&quot;, &quot;wmGUEST2&quot;]" in body
    assert "TransientError: busy" in body


def test_detail_of_another_corps_callback_is_404(admin_client, other_world):
    assert admin_client.get(detail_url(chat_event(other_world.corp))).status_code == 404
    assert admin_client.get("/wecom/events/999999/").status_code == 404


def test_redispatch_queues_the_event_and_audits(admin_client, world,
                                               django_capture_on_commit_callbacks):
    event = contact_event(world.corp, status=Status.FAILED, error="boom", attempts=3)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(redispatch_url(event), follow=True,
                                     HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "queued to be dispatched again" in response.content.decode()
    event.refresh_from_db()
    assert event.status == Status.STORED and event.error == ""
    # Back to the feeder, which queues it (a job now would skip its customer's order).
    assert feeder.feed() == 1
    [job] = DBTaskResult.objects.filter(task_path="siyu.wecom.tasks.dispatch_wecom_events")
    assert job.args_kwargs["kwargs"] == {"event_ids": [event.pk], "corp_id": world.corp.pk}
    entry = AuditLog.objects.for_corp(world.corp).get(action="wecom_event.redispatch")
    assert entry.actor == world.admin and entry.changes == {"status": ["failed", "stored"]}


def test_redispatch_of_another_corps_event_is_404(admin_client, other_world):
    event = chat_event(other_world.corp, status=Status.FAILED)
    assert admin_client.post(redispatch_url(event)).status_code == 404
    event.refresh_from_db()
    assert event.status == Status.FAILED
    assert DBTaskResult.objects.count() == 0


def test_redispatch_while_dispatching_is_refused_with_a_message(admin_client, world):
    event = chat_event(world.corp, status=Status.DISPATCHING)
    response = admin_client.post(redispatch_url(event), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "being dispatched right now" in response.content.decode()
    event.refresh_from_db()
    assert event.status == Status.DISPATCHING
    assert DBTaskResult.objects.count() == 0


def test_redispatch_needs_post(admin_client, world):
    assert admin_client.get(redispatch_url(chat_event(world.corp))).status_code == 405


def test_navigation_lists_the_page_for_admins_only(client, world):
    client.force_login(world.admin)
    assert LIST_URL.encode() in client.get("/").content
    client.force_login(world.manager)
    assert LIST_URL.encode() not in client.get("/").content
