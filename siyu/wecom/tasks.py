"""Background jobs of the WeCom integration."""

import logging

from django_tasks import task

from siyu.wecom.dispatch import dispatch_event

logger = logging.getLogger("siyu.wecom.tasks")


@task()
def dispatch_wecom_events(*, event_ids: list[int], corp_id: int) -> dict:
    """Deliver stored callbacks in the given order (siyu.wecom.feeder made the batch): each
    event's outcome is recorded on it, and a failed one is retried later through the feeder,
    so one failure does not hold up the others. Returns the count per outcome."""
    outcomes: dict[str, int] = {}
    for event_id in event_ids:
        try:
            status = dispatch_event(event_id, corp_id=corp_id) or "skipped"
        except Exception as exc:  # recorded on the event (a retry time, or failed for good)
            logger.warning("WeCom event %s: %s", event_id, exc)
            status = "failed"
        outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes


@task()
def dispatch_wecom_event(*, event_id: int, corp_id: int) -> str | None:
    """One stored callback (jobs queued before the feeder existed)."""
    return dispatch_wecom_events.func(event_ids=[event_id], corp_id=corp_id)
