"""Admin actions on jobs."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from siyu.core.audit import audit_record
from siyu.core.errors import Conflict
from siyu.core.jobs.selectors import job_corp_id, job_get_for


def job_retry(*, actor, job_id, ip: str | None = None) -> DBTaskResult:
    """Queue a failed job to run again with a fresh set of attempts."""
    with transaction.atomic():
        job = job_get_for(actor, job_id)
        if job.status != TaskResultStatus.FAILED:
            raise Conflict(_("Only failed jobs can be retried; this job is %(status)s.")
                           % {"status": TaskResultStatus(job.status).label})
        before = {"status": job.status, "attempts": len(job.worker_ids),
                  "exception": job.exception_class_path}
        # Conditional, so two admins clicking at once queue the job once.
        requeued = DBTaskResult.objects.filter(pk=job.pk, status=TaskResultStatus.FAILED).update(
            status=TaskResultStatus.READY, run_after=timezone.now(), finished_at=None,
            worker_ids=[], exception_class_path="", traceback="", return_value=None,
        )
        if not requeued:
            raise Conflict(_("This job was already queued again by someone else."))
        corp_id = job_corp_id(job)
        audit_record(
            corp=actor.corp if corp_id == actor.corp_id else None,
            actor=actor,
            action="job.retry",
            object_type="jobs.task",
            object_id=str(job.pk),
            object_repr=job.task_path,
            changes={"status": [before["status"], TaskResultStatus.READY],
                     "attempts": [before["attempts"], 0],
                     "exception": [before["exception"], ""]},
            ip=ip,
        )
    job.refresh_from_db()
    return job
