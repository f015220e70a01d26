"""Dispatch: a stored callback becomes a typed WeCom event, delivered to its subscribers.

:func:`siyu.wecom.callback_events.typed_event` says what the callback is (a contact added, a
group changed, …); ``siyu.core.events.deliver`` runs the subscribers that the domain apps
registered for it. The transport decides nothing about customers, tags, groups or codes.

Each dispatch first *claims* the event with a conditional UPDATE (stored/failed, or a
dispatching claim whose lease ran out → dispatching), so two workers handed the same event never
both deliver it. Delivery runs outside a transaction on purpose: subscribers call WeCom over
HTTP, and on SQLite an open transaction holds the database write lock, which would stall
callback ingress. Subscribers are therefore idempotent (they converge to the same state when
run again), which is also what makes duplicate and out-of-order deliveries harmless.

An add's welcome message does not wait for any of this: the welcome lane (siyu.engagement)
takes adds straight from the stored callbacks (siyu.wecom.welcome_feed).
"""

import logging
from datetime import timedelta
from traceback import format_exception

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError
from django.db.models import F, Q
from django.utils import timezone

from siyu.core.events import deliver
from siyu.core.jobs import TransientError
from siyu.wecom.callback_events import typed_event
from siyu.wecom.models import WeComEvent

logger = logging.getLogger("siyu.wecom.dispatch")

Status = WeComEvent.Status
# Failures worth another attempt; anything else is a bug or a permanent refusal. An
# IntegrityError is two subscribers inserting the same row at once (threaded workers, e.g. two
# tag callbacks creating one tag group): subscribers are idempotent, so the retry finds the row.
RETRYABLE = (TransientError, OperationalError, InterfaceError, IntegrityError)
ERROR_MAX_CHARS = 4000


class DispatchFailed(Exception):
    """Delivery failed for good (not retryable, or out of attempts); the event is "failed"."""


def lease_seconds() -> float:
    return float(settings.SIYU_WECOM_DISPATCH_LEASE_SECONDS)


def max_attempts() -> int:
    return int(settings.SIYU_WECOM_DISPATCH_MAX_ATTEMPTS)


def retry_delay(attempts: int) -> timedelta:
    """When the feeder hands a retryable failure to a worker again: 2 s, 4 s, 8 s, … at most an
    hour (WeCom's answer to a busy API is to wait, not to ask again at once)."""
    return timedelta(seconds=min(2 * 2 ** max(attempts - 1, 0), 3600))


def claimable(now) -> Q:
    stale = now - timedelta(seconds=lease_seconds())
    return (Q(status__in=[Status.STORED, Status.QUEUED, Status.FAILED])
            | Q(status=Status.DISPATCHING, claimed_at__lt=stale))


def dispatch_event(event_id: int, *, corp_id: int | None = None) -> str | None:
    """Deliver one stored event to its subscribers. Returns the event's new status, or None when
    there was nothing to do (already dispatched, or another worker holds it).

    Retryable failures are recorded and re-raised as TransientError (the job retries);
    permanent ones are recorded and raised as DispatchFailed."""
    events = (WeComEvent.objects.for_corp(corp_id) if corp_id is not None
              else WeComEvent.objects.unscoped())
    claimed_at = timezone.now()
    won = events.filter(claimable(claimed_at), pk=event_id).update(
        status=Status.DISPATCHING, claimed_at=claimed_at, attempts=F("attempts") + 1)
    if not won:
        logger.debug("WeCom event %s: nothing to dispatch (done or claimed elsewhere).",
                     event_id)
        return None
    event = events.get(pk=event_id)
    mine = events.filter(pk=event_id, status=Status.DISPATCHING, claimed_at=claimed_at)
    try:
        typed = typed_event(event)
        if typed is None:
            mine.update(status=Status.IGNORED, dispatched_at=timezone.now(), claimed_at=None,
                        next_attempt_at=None, error="")
            return Status.IGNORED
        deliver(typed)
    except Exception as exc:
        return _record_failure(event, mine, exc)
    if not mine.update(status=Status.DISPATCHED, dispatched_at=timezone.now(), claimed_at=None,
                       next_attempt_at=None, error=""):
        # Our lease ran out and another worker claimed the event; its run records the outcome.
        logger.warning("WeCom event %s was re-claimed while its handler ran.", event_id)
        return None
    return Status.DISPATCHED


def _record_failure(event: WeComEvent, mine, exc: Exception) -> str:
    retryable = isinstance(exc, RETRYABLE) and event.attempts < max_attempts()
    error = "".join(format_exception(exc))[-ERROR_MAX_CHARS:]
    next_attempt_at = timezone.now() + retry_delay(event.attempts) if retryable else None
    mine.update(status=Status.FAILED, error=error, claimed_at=None,
                next_attempt_at=next_attempt_at)
    if retryable:
        logger.warning("WeCom event %s (%s/%s) failed on attempt %d, will retry: %s",
                       event.pk, event.event, event.change_type, event.attempts, exc)
        raise TransientError(f"WeCom event {event.pk}: {exc}") from exc
    logger.error("WeCom event %s (%s/%s) failed for good after %d attempts: %s",
                 event.pk, event.event, event.change_type, event.attempts, exc)
    raise DispatchFailed(f"WeCom event {event.pk}: {exc}") from exc
