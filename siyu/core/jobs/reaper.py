"""Re-drive tasks whose worker died: RUNNING rows held by a worker without a fresh heartbeat.

Every worker runs :func:`redrive_stale_tasks` every few seconds; the supervisor calls
:func:`redrive_tasks_of` as soon as one of its children dies. Each reset is a conditional UPDATE
(``status=RUNNING`` and the same ``started_at`` as seen), so when several workers race, exactly
one wins and a task claimed again in between is left alone. Tasks are idempotent by convention
(architecture.md), so running one again is correct.
"""

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from siyu.core.jobs.heartbeat import live_worker_ids, stale_seconds
from siyu.core.jobs.retry import WorkerLost, retry_policy_for_path

logger = logging.getLogger("siyu.jobs")

WORKER_LOST_PATH = f"{WorkerLost.__module__}.{WorkerLost.__qualname__}"


def _holder(row: DBTaskResult) -> str | None:
    return row.worker_ids[-1] if row.worker_ids else None


def _running_rows():
    return DBTaskResult.objects.running().only("id", "task_path", "worker_ids", "started_at")


def redrive_stale_tasks(*, now=None, stale: float | None = None) -> list[str]:
    """Reset RUNNING tasks of workers silent for ``stale`` seconds; ids of the tasks reset."""
    now = now or timezone.now()
    stale = stale_seconds() if stale is None else stale
    cutoff = now - timedelta(seconds=stale)
    live = live_worker_ids(now=now, stale=stale)
    return [
        str(row.pk)
        for row in _running_rows().filter(started_at__lt=cutoff)
        if _holder(row) not in live and _redrive(row, now=now)
    ]


def redrive_tasks_of(worker_id: str, *, now=None) -> list[str]:
    """Reset the RUNNING tasks of a worker known to be dead (no need to wait for staleness)."""
    now = now or timezone.now()
    return [str(row.pk) for row in _running_rows()
            if _holder(row) == worker_id and _redrive(row, now=now)]


def _redrive(row: DBTaskResult, *, now) -> bool:
    attempts = len(row.worker_ids)
    policy = retry_policy_for_path(row.task_path)
    message = (
        f"{WORKER_LOST_PATH}: worker {_holder(row)} stopped while running this task "
        f"(attempt {attempts} of {policy.max_attempts})."
    )
    same_claim = DBTaskResult.objects.filter(
        pk=row.pk, status=TaskResultStatus.RUNNING, started_at=row.started_at
    )
    if attempts >= policy.max_attempts:
        won = same_claim.update(status=TaskResultStatus.FAILED, finished_at=now,
                                return_value=None, exception_class_path=WORKER_LOST_PATH,
                                traceback=message)
        if won:
            logger.error("Task id=%s path=%s failed: %s", row.pk, row.task_path, message)
    else:
        won = same_claim.update(status=TaskResultStatus.READY, run_after=now,
                                exception_class_path=WORKER_LOST_PATH, traceback=message)
        if won:
            logger.warning("Task id=%s path=%s re-queued: %s", row.pk, row.task_path, message)
    return bool(won)
