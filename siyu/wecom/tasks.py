"""Background jobs of the WeCom integration."""

from django_tasks import task

from siyu.core.jobs import TransientError, retrying
from siyu.wecom.dispatch import dispatch_event


@retrying(max_attempts=5, base_delay=2.0, retry_on=(TransientError,))
@task()
def dispatch_wecom_event(*, event_id: int, corp_id: int) -> str | None:
    """Run the handler of one stored callback; see siyu.wecom.dispatch."""
    return dispatch_event(event_id, corp_id=corp_id)
