"""Re-drive callbacks whose dispatch never happened or must happen again.

The WeComEvent table is the source of truth; queue entries are not. The sweeper finds:

* events still "stored" some seconds after they arrived (the process died between the commit
  and the enqueue, or the queue entry was lost);
* "failed" events whose retry time has come (the job that should retry them is gone or ran out
  of attempts);
* "dispatching" events whose claim lease ran out (the worker died mid-dispatch);

and enqueues their dispatch again. Each re-drive first moves the event's ``next_attempt_at``
forward with a conditional UPDATE, so sweepers running in several workers at once enqueue an
event once, and a backlogged queue is not flooded with copies. It also forgets callback nonces
older than the replay window. Runs in every worker (registered in WecomConfig.ready) and as
``siyu wecom sweep``.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from siyu.wecom.dispatch import dispatch_event, lease_seconds
from siyu.wecom.models import CallbackNonce, WeComEvent

logger = logging.getLogger("siyu.wecom.sweeper")

Status = WeComEvent.Status
BATCH = 500


@dataclass
class SweepResult:
    redriven: list[int] = field(default_factory=list)
    nonces_pruned: int = 0


def stored_after() -> timedelta:
    return timedelta(seconds=settings.SIYU_WECOM_SWEEP_STORED_AFTER_SECONDS)


def resweep_after() -> timedelta:
    # Long enough for a backlogged worker to reach the event before it is enqueued again.
    return max(stored_after() * 10, timedelta(seconds=300))


def due_events(now) -> Q:
    not_before = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    stale_claim = now - timedelta(seconds=lease_seconds())
    return (
        (Q(status=Status.STORED, received_at__lt=now - stored_after()) & not_before)
        | Q(status=Status.FAILED, next_attempt_at__lte=now)
        | Q(status=Status.DISPATCHING, claimed_at__lt=stale_claim)
    )


def _take(row, now) -> bool:
    """Mark one due event as re-driven; False when another sweeper or a worker got it first."""
    pk, status, next_attempt_at, claimed_at = row
    events = WeComEvent.objects.unscoped().filter(pk=pk, status=status)
    if status == Status.DISPATCHING:
        # A dead worker's claim: make the event failed (hence claimable) and say why.
        return bool(events.filter(claimed_at=claimed_at).update(
            status=Status.FAILED, claimed_at=None, next_attempt_at=now + resweep_after(),
            error="The worker dispatching this event stopped; dispatched again by the sweeper."))
    return bool(events.filter(next_attempt_at=next_attempt_at).update(
        next_attempt_at=now + resweep_after()))


def sweep(*, now=None, inline: bool = False, limit: int = BATCH) -> SweepResult:
    """Enqueue (or, with ``inline``, run here) the dispatch of every due event."""
    from siyu.wecom.tasks import dispatch_wecom_event

    now = now or timezone.now()
    result = SweepResult()
    rows = (WeComEvent.objects.unscoped().filter(due_events(now)).order_by("received_at", "pk")
            .values_list("pk", "status", "next_attempt_at", "claimed_at", "corp_id")[:limit])
    for pk, status, next_attempt_at, claimed_at, corp_id in rows:
        if not _take((pk, status, next_attempt_at, claimed_at), now):
            continue
        result.redriven.append(pk)
        if inline:
            _dispatch_inline(pk, corp_id)
        else:
            dispatch_wecom_event.enqueue(event_id=pk, corp_id=corp_id)
    window = timedelta(seconds=settings.SIYU_WECOM_CALLBACK_WINDOW_SECONDS)
    # A callback is accepted only if its timestamp is within the window of its arrival, and a
    # replay only until that timestamp leaves the window: two windows after arrival (seen_at,
    # which is indexed) its nonce can no longer be used.
    result.nonces_pruned, _ = CallbackNonce.objects.unscoped().filter(
        seen_at__lt=now - 2 * window).delete()
    if result.redriven:
        logger.warning("WeCom sweeper re-drove %d callback(s): %s", len(result.redriven),
                       result.redriven[:20])
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
