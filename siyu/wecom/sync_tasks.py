"""Background task for WeCom syncs started from the console."""

from django.db import InterfaceError, OperationalError
from django_tasks import task

from siyu.core.jobs import TransientError, retrying


# Long, spaced-out retries: a run whose worker died is only claimable once its heartbeat is
# stale (SIYU_SYNC_STALE_SECONDS), and each retry resumes from the saved cursors.
@retrying(max_attempts=6, base_delay=30.0, max_delay=900.0,
          retry_on=(TransientError, OperationalError, InterfaceError))
@task()
def wecom_sync(*, run_id: int, corp_id: int) -> dict:
    from siyu.core.errors import Conflict
    from siyu.wecom.models import SyncRun
    from siyu.wecom.sync import sync_execute

    run = SyncRun.objects.for_corp(corp_id).select_related("corp").filter(pk=run_id).first()
    if run is None or run.status == SyncRun.Status.SUCCEEDED:
        return {"skipped": True}
    try:
        run = sync_execute(run)
    except Conflict as exc:
        # Another process holds this run (or another sync of the corp) right now.
        raise TransientError(exc.message) from exc
    return run.changes
