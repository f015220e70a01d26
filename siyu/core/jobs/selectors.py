"""What the jobs page shows, scoped to the viewer.

Tasks take ids; by convention a task about one enterprise gets its Corp's primary key as the
keyword argument ``corp_id``. Admins of an enterprise see only those tasks; tasks without
``corp_id`` (system tasks) are shown only to superusers, in addition to their own enterprise's.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from siyu.core.errors import NotFound, PermissionDenied
from siyu.core.jobs.heartbeat import stale_seconds
from siyu.core.models import WorkerHeartbeat

PERMISSION = "jobs.view"
LIST_LIMIT = 50
TRACEBACK_TAIL_LINES = 6
ARGUMENTS_MAX_CHARS = 200


def require_jobs_view(actor) -> None:
    # Core imports no app, so the permission is asked of the user object itself
    # (accounts.User.has_siyu_perm) rather than through accounts.scoping.require.
    has_perm = getattr(actor, "has_siyu_perm", None)
    if not (getattr(actor, "is_authenticated", False) and has_perm and has_perm(PERMISSION)):
        raise PermissionDenied(_("Your role lacks the permission to view background jobs."))


def jobs_visible_to(actor) -> QuerySet[DBTaskResult]:
    require_jobs_view(actor)
    visible = Q(args_kwargs__kwargs__corp_id=actor.corp_id)
    if actor.is_superuser:
        visible |= ~Q(args_kwargs__kwargs__has_key="corp_id")
    return DBTaskResult.objects.filter(visible)


def job_get_for(actor, job_id) -> DBTaskResult:
    try:
        return jobs_visible_to(actor).get(pk=job_id)
    except (DBTaskResult.DoesNotExist, ValidationError, ValueError) as exc:
        raise NotFound(_("This job does not exist or is not visible to you.")) from exc


def job_corp_id(job: DBTaskResult) -> int | None:
    kwargs = (job.args_kwargs or {}).get("kwargs") or {}
    return kwargs.get("corp_id")


@dataclass(frozen=True)
class JobRow:
    id: str
    task_name: str
    task_path: str
    arguments: str
    exception: str
    traceback_tail: str
    attempts: int
    finished_at: datetime | None
    run_after: datetime | None


def _arguments(args_kwargs: dict) -> str:
    parts = [json.dumps(a, ensure_ascii=False) for a in args_kwargs.get("args", [])]
    parts += [f"{k}={json.dumps(v, ensure_ascii=False)}"
              for k, v in args_kwargs.get("kwargs", {}).items()]
    text = ", ".join(parts)
    return text if len(text) <= ARGUMENTS_MAX_CHARS else text[:ARGUMENTS_MAX_CHARS - 1] + "…"


def _row(job: DBTaskResult) -> JobRow:
    lines = [line for line in job.traceback.splitlines() if line.strip()]
    return JobRow(
        id=str(job.pk),
        task_name=job.task_path.rsplit(".", 1)[-1],
        task_path=job.task_path,
        arguments=_arguments(job.args_kwargs or {}),
        exception=job.exception_class_path.rsplit(".", 1)[-1],
        traceback_tail="\n".join(lines[-TRACEBACK_TAIL_LINES:]),
        attempts=len(job.worker_ids),
        finished_at=job.finished_at,
        run_after=job.run_after,
    )


@dataclass(frozen=True)
class JobsOverview:
    counts: dict
    failed: list[JobRow]
    retrying: list[JobRow]
    worker_count: int
    workers: list[WorkerHeartbeat] | None  # details only for superusers: infrastructure


def jobs_overview(actor) -> JobsOverview:
    jobs = jobs_visible_to(actor)
    now = timezone.now()
    since = now - timedelta(hours=24)
    ready = Q(status=TaskResultStatus.READY)
    counts = jobs.aggregate(
        ready=Count("pk", filter=ready),
        retrying=Count("pk", filter=ready & ~Q(exception_class_path="")),
        running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
        failed=Count("pk", filter=Q(status=TaskResultStatus.FAILED, finished_at__gte=since)),
        successful=Count("pk", filter=Q(status=TaskResultStatus.SUCCESSFUL,
                                        finished_at__gte=since)),
    )
    failed = jobs.filter(status=TaskResultStatus.FAILED).order_by("-finished_at")[:LIST_LIMIT]
    retrying = jobs.filter(ready & ~Q(exception_class_path="")).order_by("run_after")
    live = WorkerHeartbeat.objects.filter(
        last_seen__gte=now - timedelta(seconds=stale_seconds())
    ).order_by("hostname", "pid")
    return JobsOverview(
        counts=counts,
        failed=[_row(job) for job in failed],
        retrying=[_row(job) for job in retrying[:LIST_LIMIT]],
        worker_count=live.count(),
        workers=list(live) if actor.is_superuser else None,
    )
