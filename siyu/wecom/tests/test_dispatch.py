"""Dispatch of stored callbacks: typed events delivered to subscribers, statuses, retries, claims,
and the sweeper."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, OperationalError, connection
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from siyu.core import events
from siyu.core.events import Subscription
from siyu.core.jobs import TransientError
from siyu.core.jobs.periodic import periodic_hooks
from siyu.core.jobs.worker import SiyuWorker
from siyu.wecom.callback_events import TagChanged
from siyu.wecom.dispatch import DispatchFailed, dispatch_event
from siyu.wecom.events import dedupe_key, parse_event
from siyu.wecom.models import CallbackNonce, WeComEvent
from siyu.wecom.sweeper import sweep
from siyu.wecom.tasks import dispatch_wecom_event
from siyu.wecom.tests.callback_helpers import event_xml, post_callback

Status = WeComEvent.Status
# A tag callback: the test's subscriber replaces the real ones, so only it runs.
EVENT = "change_external_tag"
CHANGE = "create"
TASK_PATH = "siyu.wecom.tasks.dispatch_wecom_event"


@pytest.fixture
def recorded(monkeypatch):
    """Subscribe a recorder to TagChanged in place of the real subscribers; set .fail to raise."""

    class Recorder:
        calls: list
        fail = None

        def __call__(self, event):
            self.calls.append((event.corp_id, event, event.event_id))
            if self.fail is not None:
                raise self.fail

    recorder = Recorder()
    recorder.calls = []
    only(monkeypatch, recorder)
    return recorder


def only(monkeypatch, handler):
    """``handler`` as the one subscriber of TagChanged for this test."""
    monkeypatch.setitem(events._subscriptions, TagChanged.name,
                        [Subscription(TagChanged.name, "test.subscriber", handler)])


def store(corp, xml=None, **changes) -> WeComEvent:
    """A stored event as ingress leaves it, without enqueueing (as if the process died)."""
    xml = xml or marker_xml(corp)
    payload = parse_event(xml)
    return WeComEvent.objects.create(
        corp=corp, dedupe_key=dedupe_key(payload, xml), event=payload.get("Event", ""),
        change_type=payload.get("ChangeType", ""), create_time=payload["CreateTime"],
        raw_xml=xml, payload=payload, **changes)


def marker_xml(corp) -> str:
    return event_xml(corp.corp_id, Event=EVENT, ChangeType=CHANGE, Id=f"et{time.monotonic_ns()}")


def reload(event) -> WeComEvent:
    return WeComEvent.objects.for_corp(event.corp_id).get(pk=event.pk)


def run_jobs():
    """Run every ready job once, as a worker does."""
    worker = SiyuWorker(queue_names=["default"], interval=0, batch=True, backend_name="default",
                        startup_delay=False, max_tasks=None, worker_id="test-worker",
                        excluded_queue_names=[])
    for row in DBTaskResult.objects.ready().filter(task_path=TASK_PATH):
        row.claim("test-worker")
        worker.run_task(row)


# --- outcomes ----------------------------------------------------------------------------------

def test_handler_runs_with_corp_payload_and_event(world, recorded):
    event = store(world.corp)
    assert dispatch_event(event.pk) == Status.DISPATCHED
    [(corp_pk, payload, event_pk)] = recorded.calls
    assert corp_pk == world.corp.pk and event_pk == event.pk
    assert isinstance(payload, TagChanged) and payload.change == CHANGE
    event = reload(event)
    assert event.status == Status.DISPATCHED and event.dispatched_at and event.attempts == 1
    assert event.claimed_at is None and event.error == ""


def test_dispatching_again_is_a_no_op(world, recorded):
    event = store(world.corp)
    dispatch_event(event.pk)
    assert dispatch_event(event.pk) is None
    assert len(recorded.calls) == 1
    assert reload(event).attempts == 1


def test_event_without_handler_is_ignored(world):
    event = store(world.corp, event_xml(world.corp.corp_id, Event="unheard_of", X="1"))
    assert dispatch_event(event.pk) == Status.IGNORED
    assert reload(event).status == Status.IGNORED


def test_corp_id_scopes_the_dispatch(world, other_world, recorded):
    event = store(world.corp)
    assert dispatch_event(event.pk, corp_id=other_world.corp.pk) is None
    assert reload(event).status == Status.STORED and recorded.calls == []


@pytest.mark.parametrize("error", [TransientError("busy"), OperationalError("locked"),
                                   IntegrityError("another handler inserted the row first")])
def test_retryable_failure_is_recorded_and_raised_as_transient(world, recorded, error):
    recorded.fail = error
    event = store(world.corp)
    with pytest.raises(TransientError):
        dispatch_event(event.pk)
    event = reload(event)
    assert event.status == Status.FAILED and event.attempts == 1
    assert type(error).__name__ in event.error
    assert event.next_attempt_at > timezone.now()
    recorded.fail = None
    assert dispatch_event(event.pk) == Status.DISPATCHED
    event = reload(event)
    assert event.attempts == 2 and event.error == "" and event.next_attempt_at is None


def test_permanent_failure_is_recorded_and_not_retried(world, recorded):
    recorded.fail = KeyError("ExternalUserID")
    event = store(world.corp)
    with pytest.raises(DispatchFailed):
        dispatch_event(event.pk)
    event = reload(event)
    assert event.status == Status.FAILED and "KeyError" in event.error
    assert event.next_attempt_at is None  # the sweeper leaves it alone


def test_retryable_failure_becomes_permanent_after_max_attempts(world, recorded, settings):
    settings.SIYU_WECOM_DISPATCH_MAX_ATTEMPTS = 2
    recorded.fail = TransientError("busy")
    event = store(world.corp)
    with pytest.raises(TransientError):
        dispatch_event(event.pk)
    with pytest.raises(DispatchFailed):
        dispatch_event(event.pk)
    event = reload(event)
    assert event.attempts == 2 and event.status == Status.FAILED
    assert event.next_attempt_at is None


# --- claims: two workers never both apply an event ---------------------------------------------

def test_a_claimed_event_is_left_to_its_worker(world, recorded):
    event = store(world.corp, status=Status.DISPATCHING, claimed_at=timezone.now())
    assert dispatch_event(event.pk) is None
    assert recorded.calls == []


def test_a_claim_whose_lease_ran_out_is_taken_over(world, recorded, settings):
    settings.SIYU_WECOM_DISPATCH_LEASE_SECONDS = 60
    event = store(world.corp, status=Status.DISPATCHING,
                  claimed_at=timezone.now() - timedelta(seconds=61), attempts=1)
    assert dispatch_event(event.pk) == Status.DISPATCHED
    assert reload(event).attempts == 2


def test_a_run_whose_claim_was_taken_over_does_not_record_its_outcome(world, monkeypatch):
    event = store(world.corp)

    def slow_handler(ev):
        # Meanwhile another worker takes the event over (our lease ran out).
        WeComEvent.objects.for_corp(ev.corp_id).filter(pk=ev.event_id).update(
            claimed_at=timezone.now() + timedelta(seconds=1))

    only(monkeypatch, slow_handler)
    assert dispatch_event(event.pk) is None
    assert reload(event).status == Status.DISPATCHING


@pytest.mark.django_db(transaction=True)
def test_two_workers_dispatching_the_same_event_apply_it_once(monkeypatch):
    from siyu.accounts.tests.factories import CorpFactory

    corp = CorpFactory()
    event = store(corp)
    calls, start = [], threading.Barrier(2)

    def handler(ev):
        calls.append(ev.event_id)
        time.sleep(0.3)  # hold the claim while the other worker tries

    only(monkeypatch, handler)
    outcomes = []

    def worker():
        try:
            start.wait(5)
            outcomes.append(dispatch_event(event.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert calls == [event.pk]
    assert sorted(outcomes, key=str) == sorted([Status.DISPATCHED, None], key=str)
    assert reload(event).status == Status.DISPATCHED


# --- the task and the worker -------------------------------------------------------------------

def test_ingress_then_worker_dispatches(client, world, recorded,
                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, world.corp, marker_xml(world.corp))
    run_jobs()
    assert reload(WeComEvent.objects.for_corp(world.corp).get()).status == Status.DISPATCHED
    assert len(recorded.calls) == 1
    assert DBTaskResult.objects.get(task_path=TASK_PATH).status == TaskResultStatus.SUCCESSFUL


def test_transient_failure_is_retried_by_the_job_system(world, recorded):
    recorded.fail = TransientError("busy")
    event = store(world.corp)
    result = dispatch_wecom_event.enqueue(event_id=event.pk, corp_id=world.corp.pk)
    run_jobs()
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.READY and row.run_after > timezone.now()
    recorded.fail = None
    DBTaskResult.objects.filter(pk=result.id).update(run_after=timezone.now())
    run_jobs()
    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.SUCCESSFUL
    assert reload(event).status == Status.DISPATCHED and reload(event).attempts == 2


def test_permanent_failure_fails_the_job_visibly(world, recorded):
    recorded.fail = ValueError("bad data")
    event = store(world.corp)
    result = dispatch_wecom_event.enqueue(event_id=event.pk, corp_id=world.corp.pk)
    run_jobs()
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.FAILED
    assert row.exception_class_path == "siyu.wecom.dispatch.DispatchFailed"


# --- the sweeper -------------------------------------------------------------------------------

def jobs_for(event):
    return [row for row in DBTaskResult.objects.filter(task_path=TASK_PATH)
            if row.args_kwargs["kwargs"]["event_id"] == event.pk]


def test_event_stored_without_enqueue_is_swept_and_dispatched(world, recorded):
    event = store(world.corp)  # committed, but the process died before enqueueing
    assert sweep().redriven == []  # too recent: its own enqueue may still be on its way
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert sweep().redriven == [event.pk]
        assert len(jobs_for(event)) == 1
        run_jobs()
    assert reload(event).status == Status.DISPATCHED
    assert len(recorded.calls) == 1


def test_a_swept_event_is_not_enqueued_again_at_every_sweep(world):
    event = store(world.corp)
    later = timezone.now() + timedelta(seconds=31)
    assert sweep(now=later).redriven == [event.pk]
    assert sweep(now=later + timedelta(seconds=15)).redriven == []
    assert len(jobs_for(event)) == 1
    # Still not dispatched much later (the job was lost too): swept once more.
    assert sweep(now=later + timedelta(minutes=6)).redriven == [event.pk]


def test_sweeper_redrives_due_retryable_failures_only(world, recorded):
    now = timezone.now()
    due = store(world.corp, status=Status.FAILED, next_attempt_at=now - timedelta(seconds=1))
    later = store(world.corp, status=Status.FAILED, next_attempt_at=now + timedelta(minutes=5))
    permanent = store(world.corp, status=Status.FAILED, next_attempt_at=None)
    done = store(world.corp, status=Status.DISPATCHED)
    ignored = store(world.corp, status=Status.IGNORED)
    old = now - timedelta(hours=1)
    WeComEvent.objects.for_corp(world.corp).update(received_at=old)
    assert sweep(now=now, inline=True).redriven == [due.pk]
    assert reload(due).status == Status.DISPATCHED
    for untouched, status in ((later, Status.FAILED), (permanent, Status.FAILED),
                              (done, Status.DISPATCHED), (ignored, Status.IGNORED)):
        assert reload(untouched).status == status


def test_sweeper_takes_over_events_of_a_worker_that_died_mid_dispatch(world, recorded, settings):
    settings.SIYU_WECOM_DISPATCH_LEASE_SECONDS = 60
    now = timezone.now()
    stuck = store(world.corp, status=Status.DISPATCHING, claimed_at=now - timedelta(seconds=61))
    busy = store(world.corp, status=Status.DISPATCHING, claimed_at=now - timedelta(seconds=5))
    assert sweep(now=now).redriven == [stuck.pk]
    assert reload(stuck).status == Status.FAILED and "stopped" in reload(stuck).error
    run_jobs()
    assert reload(stuck).status == Status.DISPATCHED
    assert reload(busy).status == Status.DISPATCHING


def test_sweeper_forgets_nonces_that_can_no_longer_be_replayed(world, settings):
    settings.SIYU_WECOM_CALLBACK_WINDOW_SECONDS = 300
    now = timezone.now()
    for nonce, age in (("old", 601), ("fresh", 599)):
        CallbackNonce.objects.create(corp=world.corp, nonce=nonce, timestamp=0)
        CallbackNonce.objects.for_corp(world.corp).filter(nonce=nonce).update(
            seen_at=now - timedelta(seconds=age))
    assert sweep(now=now).nonces_pruned == 1
    assert list(CallbackNonce.objects.for_corp(world.corp).values_list("nonce", flat=True)) == \
        ["fresh"]


def test_sweep_command_runs_once(world, recorded, capsys):
    event = store(world.corp)
    WeComEvent.objects.for_corp(world.corp).update(
        received_at=timezone.now() - timedelta(minutes=1))
    call_command("wecom", "sweep", "--inline")
    assert "Dispatched 1 callback(s)" in capsys.readouterr().out
    assert reload(event).status == Status.DISPATCHED


def test_workers_run_the_sweeper_periodically(settings):
    [hook] = [h for h in periodic_hooks() if h.name == "wecom.sweep"]
    assert hook.every_seconds == settings.SIYU_WECOM_SWEEP_EVERY_SECONDS
