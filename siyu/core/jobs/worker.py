"""``SiyuWorker``: django-tasks-db's worker plus heartbeats, re-drive and retries.

Differences from the library's worker:

* a :class:`~siyu.core.jobs.heartbeat.Housekeeper` thread beats and re-drives dead workers'
  tasks; the heartbeat row is deleted on clean shutdown;
* a failure matching the task's retry policy puts the task back to READY with backoff
  (:mod:`.retry`) instead of FAILED;
* a run interrupted by shutdown (a second Ctrl+C, SIGTERM while stopping) goes back to READY
  instead of FAILED, so nothing is lost;
* results are written only if the row is still this worker's claim (same ``started_at``, still
  RUNNING): if the task was re-driven meanwhile, the newer run owns the outcome.
"""

import logging
import os
from datetime import timedelta
from traceback import format_exception

from django.core.exceptions import SuspiciousOperation
from django.utils import timezone
from django_tasks_db.compat import TaskContext, TaskResultStatus, task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import retry

from siyu.core.jobs.heartbeat import Housekeeper, heartbeat_beat, heartbeat_remove
from siyu.core.jobs.retry import retry_policy_for

logger = logging.getLogger("siyu.jobs")


def exception_path(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


@retry()
def _write_if_still_claimed(db_task_result: DBTaskResult, claimed_at, fields: dict) -> bool:
    updated = DBTaskResult.objects.filter(
        pk=db_task_result.pk, status=TaskResultStatus.RUNNING, started_at=claimed_at
    ).update(**fields)
    for name, value in fields.items():
        setattr(db_task_result, name, value)
    return bool(updated)


class SiyuWorker(Worker):
    def __init__(self, *, parent_pid: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.parent_pid = parent_pid

    def run(self) -> None:
        queues = ",".join(self.queue_names)
        # The first beat is written before any claim, so no task is ever held by a worker
        # that looks dead.
        heartbeat_beat(worker_id=self.worker_id, queues=queues)
        housekeeper = Housekeeper(worker_id=self.worker_id, queues=queues,
                                  parent_pid=self.parent_pid)
        housekeeper.start()
        try:
            super().run()
        finally:
            housekeeper.stop()
            heartbeat_remove(self.worker_id)
            logger.info("Worker %s (pid %s) stopped.", self.worker_id, os.getpid())

    def run_task(self, db_task_result: DBTaskResult) -> None:
        claimed_at = db_task_result.started_at
        self.running_task = True
        try:
            task = db_task_result.task
            task_result = db_task_result.task_result
            backend_type = type(task.get_backend())
            task_started.send(sender=backend_type, task_result=task_result)
            if task.takes_context:
                return_value = task.call(TaskContext(task_result=task_result),
                                         *task_result.args, **task_result.kwargs)
            else:
                return_value = task.call(*task_result.args, **task_result.kwargs)
            # Inside the try: a return value that cannot be stored fails the task visibly.
            if self._write(db_task_result, claimed_at, status=TaskResultStatus.SUCCESSFUL,
                           finished_at=timezone.now(), return_value=return_value,
                           exception_class_path="", traceback=""):
                task_finished.send(sender=backend_type, task_result=db_task_result.task_result)
        except (KeyboardInterrupt, SystemExit):
            try:
                self._write(db_task_result, claimed_at, status=TaskResultStatus.READY,
                            run_after=timezone.now())
                logger.warning("Task id=%s interrupted by shutdown; back in the queue.",
                               db_task_result.pk)
            except Exception:
                # The reaper re-drives it once this worker's heartbeat goes stale.
                logger.exception("Task id=%s interrupted; could not re-queue it now.",
                                 db_task_result.pk)
            raise
        except BaseException as exc:
            self._fail_or_retry(db_task_result, claimed_at, exc)
        finally:
            self.running_task = False
            self._run_tasks += 1

    def _fail_or_retry(self, db_task_result: DBTaskResult, claimed_at, exc: BaseException):
        try:
            task = db_task_result.task
        except (ImportError, SuspiciousOperation):
            task = None
        attempt = len(db_task_result.worker_ids)
        error = {"exception_class_path": exception_path(exc),
                 "traceback": "".join(format_exception(exc))}
        policy = retry_policy_for(task) if task is not None else None
        if policy is not None and policy.should_retry(exc, attempt):
            delay = policy.delay_for(attempt)
            if self._write(db_task_result, claimed_at, status=TaskResultStatus.READY,
                           run_after=timezone.now() + timedelta(seconds=delay), **error):
                logger.warning(
                    "Task id=%s path=%s failed on attempt %d of %d (%s); retrying in %.1f s.",
                    db_task_result.pk, db_task_result.task_path, attempt, policy.max_attempts,
                    error["exception_class_path"], delay,
                )
            return
        written = self._write(db_task_result, claimed_at, status=TaskResultStatus.FAILED,
                              finished_at=timezone.now(), return_value=None, **error)
        if not written:
            return
        if task is None:
            logger.error("Task id=%s path=%s cannot be loaded:\n%s", db_task_result.pk,
                         db_task_result.task_path, error["traceback"])
            return
        task_finished.send(sender=type(task.get_backend()),
                           task_result=db_task_result.task_result)

    def _write(self, db_task_result: DBTaskResult, claimed_at, **fields) -> bool:
        if _write_if_still_claimed(db_task_result, claimed_at, fields):
            return True
        logger.warning(
            "Task id=%s was re-driven while worker %s ran it; this run's outcome is dropped "
            "and the newer run records its own.", db_task_result.pk, self.worker_id,
        )
        return False
