"""Job system: retries with backoff, re-drive of dead workers' tasks, the jobs page."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from siyu.accounts.tests.factories import UserFactory
from siyu.core.jobs import DEFAULT_POLICY, RetryPolicy, retry_policy_for
from siyu.core.jobs.heartbeat import Housekeeper, forget_dead_workers
from siyu.core.jobs.reaper import (
    WORKER_LOST_PATH,
    _redrive,
    redrive_stale_tasks,
    redrive_tasks_of,
)
from siyu.core.jobs.worker import SiyuWorker
from siyu.core.models import AuditLog, WorkerHeartbeat
from siyu.core.tasks import ping
from siyu.core.tests import tasks_for_tests as t

READY, RUNNING = TaskResultStatus.READY, TaskResultStatus.RUNNING
FAILED, SUCCESSFUL = TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL


def make_worker(worker_id="w1"):
    return SiyuWorker(queue_names=["default"], interval=0, batch=True, backend_name="default",
                      startup_delay=False, max_tasks=None, worker_id=worker_id,
                      excluded_queue_names=[])


def run_once(result_id, worker_id="w1"):
    """Claim the task as ``worker_id`` and run it, as the worker loop does."""
    row = DBTaskResult.objects.get(pk=result_id)
    row.claim(worker_id)
    make_worker(worker_id).run_task(row)
    return DBTaskResult.objects.get(pk=result_id)


def seconds_from_now(moment):
    return (moment - timezone.now()).total_seconds()


# --- retry policies -------------------------------------------------------------------------

def test_retrying_works_above_and_below_task_decorator():
    assert retry_policy_for(t.flaky).max_attempts == 3
    assert retry_policy_for(t.flaky_value).retry_on == (ValueError,)
    assert retry_policy_for(t.broken) is DEFAULT_POLICY


def test_backoff_doubles_per_attempt_capped_with_small_jitter():
    policy = RetryPolicy(base_delay=2.0, max_delay=10.0)
    assert [policy.base_delay_for(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 10.0]
    delays = [policy.delay_for(2) for _ in range(200)]
    assert all(4.0 <= d <= 4.4 for d in delays)
    assert len(set(delays)) > 1


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


# --- the worker: success, retry, failure ------------------------------------------------------

@pytest.mark.django_db
def test_success_records_return_value():
    row = run_once(ping.enqueue().id)
    assert row.status == SUCCESSFUL
    assert row.return_value == "pong"
    assert row.worker_ids == ["w1"]


@pytest.mark.django_db
def test_transient_failure_is_rescheduled_with_backoff_then_fails_after_max_attempts():
    result_id = t.flaky.enqueue(corp_id=7).id

    row = run_once(result_id, "w1")
    assert row.status == READY
    assert 2.0 - 1 <= seconds_from_now(row.run_after) <= 2.2
    assert row.exception_class_path == "siyu.core.jobs.retry.TransientError"
    assert "upstream busy" in row.traceback
    assert row.finished_at is None
    # Not runnable before its backoff has passed.
    assert not DBTaskResult.objects.ready().filter(pk=result_id).exists()

    row = run_once(result_id, "w2")
    assert row.status == READY
    assert 4.0 - 1 <= seconds_from_now(row.run_after) <= 4.4

    row = run_once(result_id, "w3")
    assert row.status == FAILED
    assert row.worker_ids == ["w1", "w2", "w3"]
    assert row.finished_at is not None
    assert row.exception_class_path == "siyu.core.jobs.retry.TransientError"
    assert "Traceback" in row.traceback and "upstream busy" in row.traceback


@pytest.mark.django_db
def test_custom_retry_on_and_max_attempts():
    result_id = t.flaky_value.enqueue().id
    assert run_once(result_id, "w1").status == READY
    row = run_once(result_id, "w2")
    assert row.status == FAILED
    assert row.exception_class_path == "builtins.ValueError"


@pytest.mark.django_db
def test_non_retryable_error_fails_at_once():
    row = run_once(t.broken.enqueue(corp_id=1).id)
    assert row.status == FAILED
    assert row.exception_class_path == "builtins.RuntimeError"
    assert "boom" in row.traceback


@pytest.mark.django_db
def test_transient_error_is_retried_without_a_decorator():
    result_id = t.transient_without_policy.enqueue().id
    statuses = [run_once(result_id, f"w{n}").status for n in range(1, 4)]
    assert statuses == [READY, READY, FAILED]


@pytest.mark.django_db
def test_interrupted_run_goes_back_to_the_queue():
    result_id = t.interrupted.enqueue().id
    with pytest.raises(KeyboardInterrupt):
        run_once(result_id)
    row = DBTaskResult.objects.get(pk=result_id)
    assert row.status == READY
    assert DBTaskResult.objects.ready().filter(pk=result_id).exists()


@pytest.mark.django_db
def test_outcome_of_a_run_that_was_redriven_meanwhile_is_dropped():
    result_id = ping.enqueue().id
    row = DBTaskResult.objects.get(pk=result_id)
    row.claim("slow-worker")
    # The reaper re-queued the task and another worker claimed it while this one was stalled.
    DBTaskResult.objects.filter(pk=result_id).update(
        status=RUNNING, started_at=timezone.now() + timedelta(seconds=1),
        worker_ids=["slow-worker", "w2"])
    make_worker("slow-worker").run_task(row)
    fresh = DBTaskResult.objects.get(pk=result_id)
    assert fresh.status == RUNNING
    assert fresh.worker_ids == ["slow-worker", "w2"]


# --- re-drive ---------------------------------------------------------------------------------

def running_task(worker_ids, *, started_ago=60, task=ping):
    result_id = task.enqueue().id
    DBTaskResult.objects.filter(pk=result_id).update(
        status=RUNNING, worker_ids=worker_ids,
        started_at=timezone.now() - timedelta(seconds=started_ago))
    return result_id


def beat(worker_id, *, ago):
    WorkerHeartbeat.objects.create(worker_id=worker_id, hostname="h", pid=1,
                                   last_seen=timezone.now() - timedelta(seconds=ago))


@pytest.mark.django_db
def test_reaper_resets_only_tasks_of_workers_without_fresh_heartbeat():
    beat("alive", ago=1)
    beat("dead", ago=120)
    of_alive = running_task(["dead", "alive"])
    of_dead = running_task(["dead"])
    of_unknown = running_task(["never-beat"])
    just_claimed = running_task(["dead"], started_ago=0)

    reset = redrive_stale_tasks(stale=30)

    assert sorted(reset) == sorted([str(of_dead), str(of_unknown)])
    for result_id in (of_dead, of_unknown):
        row = DBTaskResult.objects.get(pk=result_id)
        assert row.status == READY
        assert row.exception_class_path == WORKER_LOST_PATH
        assert DBTaskResult.objects.ready().filter(pk=result_id).exists()
    assert DBTaskResult.objects.get(pk=of_alive).status == RUNNING
    assert DBTaskResult.objects.get(pk=just_claimed).status == RUNNING
    assert redrive_stale_tasks(stale=30) == []


@pytest.mark.django_db
def test_reaper_loses_race_cleanly():
    result_id = running_task(["dead"])
    snapshot = DBTaskResult.objects.get(pk=result_id)
    # Another worker's reaper wins, and a worker claims the task again.
    assert redrive_stale_tasks(stale=30) == [str(result_id)]
    DBTaskResult.objects.get(pk=result_id).claim("w2")

    assert _redrive(snapshot, now=timezone.now()) is False
    row = DBTaskResult.objects.get(pk=result_id)
    assert row.status == RUNNING
    assert row.worker_ids == ["dead", "w2"]


@pytest.mark.django_db
def test_task_whose_workers_keep_dying_fails_after_max_attempts():
    result_id = running_task(["a", "b", "c"])  # default policy: 3 attempts
    redrive_stale_tasks(stale=30)
    row = DBTaskResult.objects.get(pk=result_id)
    assert row.status == FAILED
    assert row.exception_class_path == WORKER_LOST_PATH
    assert "worker c stopped" in row.traceback


@pytest.mark.django_db
def test_redrive_of_a_known_dead_worker_does_not_wait_for_staleness():
    beat("child", ago=0)
    mine = running_task(["child"], started_ago=0)
    other = running_task(["sibling"], started_ago=0)
    assert redrive_tasks_of("child") == [str(mine)]
    assert DBTaskResult.objects.get(pk=other).status == RUNNING


@pytest.mark.django_db
def test_heartbeats_of_long_gone_workers_are_forgotten():
    beat("recent", ago=60)
    beat("ancient", ago=3600)
    assert forget_dead_workers(stale=30) == 1
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["recent"]


@pytest.mark.django_db(transaction=True)
def test_housekeeper_beats_and_redrives_from_its_own_thread(settings):
    settings.SIYU_WORKER_STALE_SECONDS = 2
    stale = running_task(["dead"])
    keeper = Housekeeper(worker_id="keeper", queues="default")
    keeper.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (
            WorkerHeartbeat.objects.filter(worker_id="keeper").exists()
            and DBTaskResult.objects.get(pk=stale).status == READY
        ):
            time.sleep(0.05)
    finally:
        keeper.stop()
    assert not keeper.is_alive()
    assert WorkerHeartbeat.objects.get(worker_id="keeper").queues == "default"
    assert DBTaskResult.objects.get(pk=stale).status == READY


# --- the jobs page ----------------------------------------------------------------------------

def failed_job(marker, **kwargs):
    result_id = t.broken.enqueue(**kwargs).id
    DBTaskResult.objects.filter(pk=result_id).update(
        status=FAILED, finished_at=timezone.now(), worker_ids=["w1", "w2"],
        exception_class_path="builtins.RuntimeError",
        traceback=f"Traceback (most recent call last):\nRuntimeError: {marker}\n")
    return result_id


JOBS_URL = "/system/jobs/"


def retry_url(result_id):
    return reverse("console:job_retry", args=[result_id])


@pytest.mark.django_db
def test_jobs_url():
    assert reverse("console:jobs") == JOBS_URL


@pytest.mark.django_db
def test_admin_sees_only_own_corps_jobs(client, world, other_world):
    failed_job("mine-x", corp_id=world.corp.pk)
    failed_job("theirs-y", corp_id=other_world.corp.pk)
    failed_job("system-job")
    client.force_login(world.admin)
    response = client.get(JOBS_URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "mine-x" in body
    assert "theirs-y" not in body
    assert "system-job" not in body
    assert response.context["overview"].counts["failed"] == 1


@pytest.mark.django_db
def test_superuser_also_sees_system_jobs_but_not_other_corps(client, world, other_world):
    failed_job("mine-x", corp_id=world.corp.pk)
    failed_job("theirs-y", corp_id=other_world.corp.pk)
    failed_job("system-job")
    WorkerHeartbeat.objects.create(worker_id="w9", hostname="jobs-host-1", pid=4242,
                                   last_seen=timezone.now())
    root = UserFactory(corp=world.corp, role="admin", is_superuser=True)
    client.force_login(root)
    body = client.get(JOBS_URL).content.decode()
    assert "mine-x" in body and "system-job" in body
    assert "theirs-y" not in body
    assert "jobs-host-1" in body


@pytest.mark.django_db
def test_corp_admin_sees_worker_count_not_hosts(client, world):
    WorkerHeartbeat.objects.create(worker_id="w9", hostname="jobs-host-1", pid=4242,
                                   last_seen=timezone.now())
    client.force_login(world.admin)
    response = client.get(JOBS_URL)
    assert response.context["overview"].worker_count == 1
    assert "jobs-host-1" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["staff_a", "manager"])
def test_users_without_jobs_permission_get_403(client, world, role):
    failed_job("mine-x", corp_id=world.corp.pk)
    client.force_login(getattr(world, role))
    response = client.get(JOBS_URL)
    assert response.status_code == 403
    assert "mine-x" not in response.content.decode()
    target = failed_job("again", corp_id=world.corp.pk)
    assert client.post(retry_url(target)).status_code == 403
    assert DBTaskResult.objects.get(pk=target).status == FAILED


@pytest.mark.django_db
def test_htmx_refresh_gets_the_partial(client, world):
    failed_job("mine-x", corp_id=world.corp.pk)
    client.force_login(world.admin)
    response = client.get(JOBS_URL, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "mine-x" in body
    assert "<html" not in body


@pytest.mark.django_db
def test_retry_requeues_a_failed_job_and_audits_it(client, world):
    target = failed_job("mine-x", corp_id=world.corp.pk)
    client.force_login(world.admin)
    response = client.post(retry_url(target), REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 302
    assert response["Location"] == JOBS_URL
    row = DBTaskResult.objects.get(pk=target)
    assert row.status == READY
    assert row.worker_ids == []
    assert row.traceback == ""
    assert DBTaskResult.objects.ready().filter(pk=target).exists()
    entry = AuditLog.objects.for_corp(world.corp).get(action="job.retry")
    assert entry.object_id == str(target)
    assert entry.actor == world.admin
    assert entry.changes["status"] == ["FAILED", "READY"]
    assert entry.ip_address == "10.0.0.9"


@pytest.mark.django_db
def test_retry_of_another_corps_job_is_404(client, world, other_world):
    theirs = failed_job("theirs-y", corp_id=other_world.corp.pk)
    system = failed_job("system-job")
    client.force_login(world.admin)
    assert client.post(retry_url(theirs)).status_code == 404
    assert client.post(retry_url(system)).status_code == 404
    assert DBTaskResult.objects.get(pk=theirs).status == FAILED
    assert DBTaskResult.objects.get(pk=system).status == FAILED
    assert not AuditLog.objects.unscoped().filter(action="job.retry").exists()


@pytest.mark.django_db
def test_retry_of_a_job_that_did_not_fail_is_refused_with_a_message(client, world):
    done = run_once(ping.enqueue(corp_id=world.corp.pk).id)
    client.force_login(world.admin)
    response = client.post(retry_url(done.pk), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Only failed jobs can be retried" in response.content.decode()
    assert DBTaskResult.objects.get(pk=done.pk).status == SUCCESSFUL


@pytest.mark.django_db
def test_retry_needs_post(client, world):
    target = failed_job("mine-x", corp_id=world.corp.pk)
    client.force_login(world.admin)
    assert client.get(retry_url(target)).status_code == 405
    assert DBTaskResult.objects.get(pk=target).status == FAILED
