"""Background jobs of the WeCom integration."""

from django_tasks import task

from siyu.core.jobs import URGENT_PRIORITY, TransientError, retrying
from siyu.wecom.dispatch import dispatch_event, dispatch_urgent


@retrying(max_attempts=5, base_delay=2.0, retry_on=(TransientError,))
@task()
def dispatch_wecom_event(*, event_id: int, corp_id: int, carry: dict | None = None) -> str | None:
    """Run the handler of one stored callback; see siyu.wecom.dispatch."""
    return dispatch_event(event_id, corp_id=corp_id, carry=carry)


# Urgent stages (a welcome within WeCom's 20 s) go before everything else in the queue.
@task(priority=URGENT_PRIORITY)
def dispatch_wecom_event_urgently(*, event_id: int, corp_id: int) -> bool:
    """The urgent stage of one stored callback, then its dispatch; see siyu.wecom.dispatch.
    Not retried: the dispatch it queues (or the sweeper) does the work if this fails."""
    return dispatch_urgent(event_id, corp_id=corp_id, enqueue_dispatch=lambda carry: (
        dispatch_wecom_event.enqueue(event_id=event_id, corp_id=corp_id, carry=carry)))
