"""The API call log: buffered, written in batches, after jobs and requests, never failing."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import DatabaseError
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from siyu.accounts.models import Corp
from siyu.accounts.tests.factories import CorpFactory
from siyu.wecom.calllog import CallLog, call_log, prune_api_calls
from siyu.wecom.models import ApiCall


@pytest.fixture
def corp(db):
    return CorpFactory()


def record(log, corp, n=1, **fields):
    for _ in range(n):
        log.record(corp_id=corp.pk, api=fields.get("api", "externalcontact/get"),
                   errcode=fields.get("errcode", 0), errmsg="ok", http_status=200,
                   latency_ms=12, attempt=1)


def test_first_row_is_due_at_once_then_rows_wait_for_the_batch(corp, settings):
    settings.SIYU_WECOM_CALL_LOG_FLUSH_ROWS = 5
    settings.SIYU_WECOM_CALL_LOG_FLUSH_SECONDS = 3600
    log = CallLog()
    record(log, corp)
    assert log.due()  # an isolated call is written at once
    assert log.flush_if_due() == 1
    record(log, corp, 4)
    assert not log.due() and log.flush_if_due() == 0
    record(log, corp)
    assert log.due() and log.flush_if_due() == 5
    assert ApiCall.objects.for_corp(corp).count() == 6


def test_rows_are_due_once_the_interval_has_passed_since_the_last_write(corp, settings):
    settings.SIYU_WECOM_CALL_LOG_FLUSH_SECONDS = 1.0
    log = CallLog()
    record(log, corp)
    log.flush()
    record(log, corp)
    assert not log.due()
    log._last_flush -= 1.0
    assert log.due()


def test_rows_keep_the_time_of_the_call(corp):
    log = CallLog()
    record(log, corp)
    called = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=called + timedelta(minutes=5)):
        log.flush()
    row = ApiCall.objects.for_corp(corp).get()
    assert abs(row.created_at - called) < timedelta(seconds=1)
    assert (row.api, row.errcode, row.latency_ms, row.http_status) == (
        "externalcontact/get", 0, 12, 200)


def test_rows_of_a_deleted_corp_are_dropped_not_failing_the_rest(corp):
    gone = CorpFactory()
    log = CallLog()
    record(log, corp)
    record(log, gone)
    Corp.objects.filter(pk=gone.pk).delete()
    assert log.flush() == 1
    assert ApiCall.objects.unscoped().count() == 1


def test_a_database_error_drops_the_batch_without_raising(corp, caplog):
    log = CallLog()
    record(log, corp, 3)
    with mock.patch.object(ApiCall.objects, "bulk_create", side_effect=DatabaseError("disk")):
        assert log.flush() == 0
    assert log.pending() == 0
    assert "Could not write 3 WeCom API call rows" in caplog.text


@task()
def call_wecom_in_a_job(corp_id: int) -> None:
    record(call_log, Corp.objects.get(pk=corp_id))


def test_rows_are_written_after_each_job_and_each_request(corp, settings, client):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.SIYU_WECOM_CALL_LOG_FLUSH_SECONDS = 3600
    call_log.flush()
    result = call_wecom_in_a_job.enqueue(corp_id=corp.pk)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert call_log.pending() == 0
    assert ApiCall.objects.for_corp(corp).count() == 1
    record(call_log, corp, 3)
    client.get("/login/")
    assert ApiCall.objects.for_corp(corp).count() == 4


def test_prune_deletes_rows_past_the_retention(corp):
    old = ApiCall.objects.create(corp=corp, api="a", created_at=timezone.now() - timedelta(days=8))
    recent = ApiCall.objects.create(corp=corp, api="a",
                                    created_at=timezone.now() - timedelta(days=6))
    assert prune_api_calls(older_than=timedelta(days=7)) == 1
    assert list(ApiCall.objects.for_corp(corp)) == [recent]
    assert not ApiCall.objects.for_corp(corp).filter(pk=old.pk).exists()


def test_exit_writes_what_is_left_to_the_database_it_belongs_to(corp, settings):
    settings.SIYU_WECOM_CALL_LOG_FLUSH_SECONDS = 3600
    log = CallLog()
    record(log, corp, 2)
    log.flush_at_exit()
    assert ApiCall.objects.for_corp(corp).count() == 2


def test_exit_writes_nothing_once_the_database_settings_changed(corp):
    """After a test run the settings name the development database again."""
    log = CallLog()
    record(log, corp, 2)
    with mock.patch("siyu.wecom.calllog._database_name", return_value="elsewhere.sqlite3"):
        log.flush_at_exit()
    assert log.pending() == 2
    assert ApiCall.objects.for_corp(corp).count() == 0


def test_a_forked_child_starts_with_an_empty_buffer(corp):
    log = CallLog()
    record(log, corp, 2)
    log._after_fork()
    assert log.pending() == 0
