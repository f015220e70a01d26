"""The life of a SyncRun: create (or find the interrupted one to resume), claim, finish.

A run is claimed with a compare-and-set on its status and heartbeat, so two processes (the CLI
and a worker, or two workers after a re-drive) never execute the same run, nor two runs of
one corp, at the same time.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from siyu.accounts.models import Corp
from siyu.core.audit import audit_record
from siyu.core.errors import Conflict
from siyu.wecom.models import SyncRun

# A running sync saves (and beats) after every page; one silent for this long has died.
DEFAULT_STALE_SECONDS = 90
# Cursors of an interrupted run older than this are not trusted any more: start afresh.
DEFAULT_RESUME_HOURS = 24


def stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "SIYU_SYNC_STALE_SECONDS", DEFAULT_STALE_SECONDS))


def _resume_window() -> timedelta:
    return timedelta(hours=getattr(settings, "SIYU_SYNC_RESUME_HOURS", DEFAULT_RESUME_HOURS))


def _stale_q(now) -> Q:
    return Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - stale_after())


def active_run(corp) -> SyncRun | None:
    """A run of this corp that is executing right now (running, recent heartbeat)."""
    now = timezone.now()
    return (SyncRun.objects.for_corp(corp).filter(status=SyncRun.Status.RUNNING)
            .exclude(_stale_q(now)).first())


def resumable_run(corp, *, full: bool) -> SyncRun | None:
    """The latest run that stopped before finishing (killed, crashed, failed, or still queued)
    and can carry on from its saved cursors."""
    now = timezone.now()
    latest = SyncRun.objects.for_corp(corp).order_by("-created_at", "-id").first()
    if latest is None or latest.full != full or latest.created_at < now - _resume_window():
        return None
    if latest.status in (SyncRun.Status.QUEUED, SyncRun.Status.FAILED):
        return latest
    if latest.status == SyncRun.Status.RUNNING and (
            latest.heartbeat_at is None or latest.heartbeat_at < now - stale_after()):
        return latest
    return None


def sync_run_create(*, corp, full: bool, triggered_by: str, actor=None) -> SyncRun:
    with transaction.atomic():
        run = SyncRun.objects.create(corp=corp, full=full, triggered_by=triggered_by[:150])
        audit_record(corp=corp, actor=actor, action="wecom.sync.start", obj=run,
                     changes={"full": [None, full]})
    return run


def sync_run_claim(run: SyncRun) -> SyncRun:
    """Marks the run as executing here, or raises Conflict when another process has it (or
    another run of the corp is executing)."""
    now = timezone.now()
    with transaction.atomic():
        # Serializes claims per corp (row lock on PostgreSQL; SQLite serializes writers).
        Corp.objects.select_for_update().filter(pk=run.corp_id).first()
        other = active_run(run.corp_id)
        if other is not None and other.pk != run.pk:
            raise Conflict(_("Sync #%(id)d of this enterprise is still running.")
                           % {"id": other.pk})
        claimable = Q(status__in=[SyncRun.Status.QUEUED, SyncRun.Status.FAILED]) | (
            Q(status=SyncRun.Status.RUNNING) & _stale_q(now))
        claimed = SyncRun.objects.for_corp(run.corp_id).filter(claimable, pk=run.pk).update(
            status=SyncRun.Status.RUNNING, heartbeat_at=now, error="",
            started_at=run.started_at or now, finished_at=None,
        )
    if not claimed:
        run.refresh_from_db()
        if run.status == SyncRun.Status.SUCCEEDED:
            raise Conflict(_("Sync #%(id)d has already finished.") % {"id": run.pk})
        raise Conflict(_("Sync #%(id)d is running in another process.") % {"id": run.pk})
    # The corp is loaded here, on the database thread: the stages read it from the loop.
    return SyncRun.objects.for_corp(run.corp_id).select_related("corp").get(pk=run.pk)


def sync_run_finish(run: SyncRun) -> None:
    run.status, run.finished_at = SyncRun.Status.SUCCEEDED, timezone.now()
    run.stage = ""
    SyncRun.objects.for_corp(run.corp_id).filter(pk=run.pk).update(
        status=run.status, finished_at=run.finished_at, stage="", heartbeat_at=run.finished_at)
    audit_record(corp=run.corp, actor=None, action="wecom.sync.finish", obj=run,
                 changes={"status": [SyncRun.Status.RUNNING, run.status]})


def sync_run_fail(run: SyncRun, error: str) -> None:
    """Only status and error are written: progress, state and changes keep what the last
    committed page saved, which is what a resume continues from."""
    run.status, run.error, run.finished_at = SyncRun.Status.FAILED, error[:2000], timezone.now()
    SyncRun.objects.for_corp(run.corp_id).filter(pk=run.pk).update(
        status=run.status, error=run.error, finished_at=run.finished_at)


def sync_start(*, corp, full: bool, triggered_by: str) -> tuple[SyncRun, bool]:
    """The run to execute now: the corp's interrupted run of the same kind (resumed from its
    cursors) or a new one. Returns ``(run, resumed)``. Raises Conflict while a sync of the
    corp is executing elsewhere."""
    other = active_run(corp)
    if other is not None:
        raise Conflict(_("Sync #%(id)d of this enterprise is still running (last heartbeat "
                         "%(beat)s). Wait for it to finish.")
                       % {"id": other.pk, "beat": timezone.localtime(other.heartbeat_at)
                          .strftime("%H:%M:%S")})
    run = resumable_run(corp, full=full)
    if run is not None:
        return run, True
    return sync_run_create(corp=corp, full=full, triggered_by=triggered_by), False


def sync_enqueue(*, corp, actor, full: bool) -> SyncRun:
    """Queues a sync for a worker (the console's button). An interrupted run of the same kind
    is re-queued instead of starting over."""
    from siyu.wecom.sync_tasks import wecom_sync

    with transaction.atomic():
        other = active_run(corp)
        queued = SyncRun.objects.for_corp(corp).filter(status=SyncRun.Status.QUEUED).first()
        if other is not None or queued is not None:
            raise Conflict(_("A sync of this enterprise is already queued or running."))
        run = resumable_run(corp, full=full)
        if run is None:
            run = sync_run_create(corp=corp, full=full, triggered_by=actor.get_username(),
                                  actor=actor)
        else:
            SyncRun.objects.for_corp(corp).filter(pk=run.pk).update(
                status=SyncRun.Status.QUEUED)
            run.status = SyncRun.Status.QUEUED
            audit_record(corp=corp, actor=actor, action="wecom.sync.resume", obj=run)
        transaction.on_commit(lambda: wecom_sync.enqueue(run_id=run.pk, corp_id=corp.pk))
    return run
