"""Dispatch of stored callbacks: typed events delivered to subscribers, statuses, retries, claims,
the feeder (order per key, one job per batch, back-pressure) and the sweeper."""

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
from siyu.core.jobs.lanes import lanes
from siyu.core.jobs.periodic import periodic_hooks
from siyu.core.jobs.worker import SiyuWorker
from siyu.wecom import feeder
from siyu.wecom.callback_events import ContactEdited, TagChanged
from siyu.wecom.dispatch import DispatchFailed, dispatch_event
from siyu.wecom.events import dedupe_key, parse_event
from siyu.wecom.models import WeComEvent
from siyu.wecom.sweeper import sweep
from siyu.wecom.tests.callback_helpers import event_xml, post_callback

Status = WeComEvent.Status
# A tag callback: the test's subscriber replaces the real ones, so only it runs.
EVENT = "change_external_tag"
CHANGE = "create"
TASK_PATH = "siyu.wecom.tasks.dispatch_wecom_events"


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


def only(monkeypatch, handler, event_type=TagChanged):
    """``handler`` as the one subscriber of ``event_type`` for this test."""
    monkeypatch.setitem(events._subscriptions, event_type.name,
                        [Subscription(event_type.name, "test.subscriber", handler)])


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


# --- the feeder, the job and the worker -------------------------------------------------------

def jobs():
    return list(DBTaskResult.objects.filter(task_path=TASK_PATH).order_by("enqueued_at"))


def test_ingress_then_feeder_then_worker_dispatches(client, world, recorded):
    post_callback(client, world.corp, marker_xml(world.corp))
    assert jobs() == []  # ingress writes the event only
    assert feeder.feed() == 1
    event = WeComEvent.objects.for_corp(world.corp).get()
    assert event.status == Status.QUEUED
    run_jobs()
    assert reload(event).status == Status.DISPATCHED
    assert len(recorded.calls) == 1
    [job] = jobs()
    assert job.status == TaskResultStatus.SUCCESSFUL
    assert feeder.feed() == 0  # nothing left, nothing queued twice


@pytest.fixture
def contacts_recorded(monkeypatch):
    """Contact edits reach a recorder, not the customers app (which would call WeCom)."""
    seen = []
    only(monkeypatch, lambda event: seen.append(event.event_id), ContactEdited)
    return seen


def contact_payload_xml(corp, external_userid, create_time, change="edit_external_contact"):
    return event_xml(corp.corp_id, Event="change_external_contact", ChangeType=change,
                     UserID="u1", ExternalUserID=external_userid, CreateTime=create_time)


def test_one_customers_events_go_in_one_job_in_order_and_never_beside_another(
        world, contacts_recorded):
    a1 = store(world.corp, contact_payload_xml(world.corp, "wmA", 200), ordering_key="c:wmA")
    b1 = store(world.corp, contact_payload_xml(world.corp, "wmB", 150), ordering_key="c:wmB")
    a0 = store(world.corp, contact_payload_xml(world.corp, "wmA", 100), ordering_key="c:wmA")
    assert feeder.feed() == 3
    by_job = [j.args_kwargs["kwargs"]["event_ids"] for j in jobs()]
    assert by_job == [[a0.pk, a1.pk, b1.pk]]  # wmA's in CreateTime order, then wmB's
    # While wmA's events are in flight, a new one of wmA waits; wmC's goes ahead.
    a2 = store(world.corp, contact_payload_xml(world.corp, "wmA", 300), ordering_key="c:wmA")
    c1 = store(world.corp, contact_payload_xml(world.corp, "wmC", 300), ordering_key="c:wmC")
    assert feeder.feed() == 1
    assert reload(a2).status == Status.STORED and reload(c1).status == Status.QUEUED
    run_jobs()
    assert feeder.feed() == 1 and reload(a2).status == Status.QUEUED


def test_many_events_are_spread_over_jobs(world, contacts_recorded, monkeypatch):
    monkeypatch.setattr(feeder, "EVENTS_PER_JOB", 3)
    for i in range(7):
        store(world.corp, contact_payload_xml(world.corp, f"wm{i}", 100), ordering_key=f"c:{i}")
    assert feeder.feed() == 7
    assert [len(j.args_kwargs["kwargs"]["event_ids"]) for j in jobs()] == [3, 3, 1]


def test_the_feeder_holds_back_when_enough_is_in_flight(world, contacts_recorded, monkeypatch):
    monkeypatch.setattr(feeder, "MAX_IN_FLIGHT", 2)
    for i in range(3):
        store(world.corp, contact_payload_xml(world.corp, f"wm{i}", 100), ordering_key=f"c:{i}")
    assert feeder.feed() == 2
    assert feeder.feed() == 0
    run_jobs()
    assert feeder.feed() == 1


def test_only_the_lease_holder_feeds(world, monkeypatch):
    store(world.corp)
    monkeypatch.setattr(feeder, "this_holder", lambda: "another-process")
    assert feeder.feed() == 1
    feeder._lease.held_until = feeder._lease.next_try = 0.0
    monkeypatch.setattr(feeder, "this_holder", lambda: "me")
    store(world.corp)
    assert feeder.feed() == 0  # another process holds the lease


def test_transient_failure_is_retried_through_the_feeder(world, recorded):
    recorded.fail = TransientError("busy")
    event = store(world.corp)
    assert feeder.feed() == 1
    run_jobs()
    failed = reload(event)
    assert failed.status == Status.FAILED and failed.next_attempt_at > timezone.now()
    assert feeder.feed() == 0  # not before its retry time
    recorded.fail = None
    with time_machine.travel(failed.next_attempt_at + timedelta(seconds=1)):
        assert feeder.feed() == 1
    run_jobs()
    assert reload(event).status == Status.DISPATCHED and reload(event).attempts == 2


def test_permanent_failure_is_recorded_and_the_batch_goes_on(world, recorded):
    recorded.fail = ValueError("bad data")
    first, second = store(world.corp), store(world.corp)
    assert feeder.feed() == 2
    run_jobs()
    for event in (first, second):
        event = reload(event)
        assert event.status == Status.FAILED and event.next_attempt_at is None
        assert "bad data" in event.error
    [job] = jobs()
    assert job.status == TaskResultStatus.SUCCESSFUL  # the outcome is on the events


# --- the sweeper -------------------------------------------------------------------------------

def test_a_queued_event_whose_job_was_lost_is_fed_again_once(world, recorded, settings):
    settings.SIYU_WECOM_DISPATCH_LEASE_SECONDS = 60
    event = store(world.corp)
    assert feeder.feed() == 1
    DBTaskResult.objects.all().delete()  # the job is lost
    assert sweep().redriven == []  # too recent: its job may still be on its way
    later = timezone.now() + timedelta(seconds=61)
    assert sweep(now=later).redriven == [event.pk]
    assert sweep(now=later).redriven == []  # once
    with time_machine.travel(later):
        assert feeder.feed() == 1
    run_jobs()
    assert reload(event).status == Status.DISPATCHED and len(recorded.calls) == 1


def test_sweep_inline_dispatches_due_events_only(world, recorded):
    now = timezone.now()
    due = store(world.corp, status=Status.FAILED, next_attempt_at=now - timedelta(seconds=1))
    later = store(world.corp, status=Status.FAILED, next_attempt_at=now + timedelta(minutes=5))
    permanent = store(world.corp, status=Status.FAILED, next_attempt_at=None)
    done = store(world.corp, status=Status.DISPATCHED)
    ignored = store(world.corp, status=Status.IGNORED)
    sweep(now=now, inline=True)
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
    assert feeder.feed() == 1
    run_jobs()
    assert reload(stuck).status == Status.DISPATCHED
    assert reload(busy).status == Status.DISPATCHING


def test_sweep_command_runs_once(world, recorded, capsys):
    event = store(world.corp)
    call_command("wecom", "sweep", "--inline")
    assert "dispatched the due ones here" in capsys.readouterr().out
    assert reload(event).status == Status.DISPATCHED


def test_workers_run_the_sweeper_periodically_and_the_feeder_as_a_lane(settings):
    [hook] = [h for h in periodic_hooks() if h.name == "wecom.sweep"]
    assert hook.every_seconds == settings.SIYU_WECOM_SWEEP_EVERY_SECONDS
    [lane] = [lane for lane in lanes() if lane.name == "wecom.feeder"]
    assert not lane.urgent
