"""Return callbacks to the feeder that a lost job or a dead worker left behind.

The WeComEvent table is the source of truth; jobs are not. The feeder (siyu.wecom.feeder)
queues stored events and failed ones whose retry time has come; the sweeper finds the rest:

* "queued" events whose job never ran them within the dispatch lease (the job was lost, or its
  worker died before starting them);
* "dispatching" events whose claim lease ran out (the worker died mid-dispatch);

and makes them due again ("failed" with a retry time of now, and why), with one conditional
UPDATE each, so sweepers running in several workers at once change an event once. Nothing here
enqueues a job: only the feeder does, so an event is never in two jobs. Runs in every worker
(registered in WecomConfig.ready) and as ``siyu wecom sweep`` (which can also dispatch inline).
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from siyu.wecom.dispatch import dispatch_event, lease_seconds
from siyu.wecom.feeder import to_feed
from siyu.wecom.models import WeComEvent

logger = logging.getLogger("siyu.wecom.sweeper")

Status = WeComEvent.Status
BATCH = 500


@dataclass
class SweepResult:
    redriven: list[int] = field(default_factory=list)


def due_events(now) -> Q:
    stale = now - timedelta(seconds=lease_seconds())
    return (Q(status=Status.QUEUED, claimed_at__lt=stale)
            | Q(status=Status.DISPATCHING, claimed_at__lt=stale))


REASONS = {
    Status.QUEUED: "The job holding this event never ran it; queued again by the sweeper.",
    Status.DISPATCHING: "The worker dispatching this event stopped; dispatched again by the "
                        "sweeper.",
}


def _take(pk: int, status: str, claimed_at, now) -> bool:
    """Make one left-behind event due again; False when another sweeper or a worker got it
    first."""
    return bool(WeComEvent.objects.unscoped().filter(pk=pk, status=status, claimed_at=claimed_at)
                .update(status=Status.FAILED, claimed_at=None, next_attempt_at=now,
                        error=REASONS[status]))


def sweep(*, now=None, inline: bool = False, limit: int = BATCH) -> SweepResult:
    """Make every left-behind event due again; with ``inline``, also dispatch here every event
    that is due (the command line's way when no worker runs)."""
    now = now or timezone.now()
    result = SweepResult()
    rows = (WeComEvent.objects.unscoped().filter(due_events(now)).order_by("received_at", "pk")
            .values_list("pk", "status", "claimed_at")[:limit])
    for pk, status, claimed_at in rows:
        if _take(pk, status, claimed_at, now):
            result.redriven.append(pk)
    if inline:
        due = (WeComEvent.objects.unscoped().filter(to_feed(now)).order_by("create_time", "pk")
               .values_list("pk", "corp_id")[:limit])
        for pk, corp_id in due:
            _dispatch_inline(pk, corp_id)
    if result.redriven:
        logger.warning("WeCom sweeper returned %d callback(s) to the feeder: %s",
                       len(result.redriven), result.redriven[:20])
    return result


def _dispatch_inline(event_id: int, corp_id: int) -> None:
    try:
        dispatch_event(event_id, corp_id=corp_id)
    except Exception as exc:
        # Recorded on the event (status, error, next attempt); go on with the others.
        logger.warning("WeCom event %s failed while swept: %s", event_id, exc)


def sweep_periodic() -> None:
    """The hook registered with siyu.core.jobs.register_periodic."""
    sweep()
