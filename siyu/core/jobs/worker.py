"""``SiyuWorker``: django-tasks-db's worker plus heartbeats, re-drive and retries.

Differences from the library's worker:

* a :class:`~siyu.core.jobs.heartbeat.Housekeeper` thread beats and re-drives dead workers'
  tasks; the heartbeat row is deleted on clean shutdown;
* a failure matching the task's retry policy puts the task back to READY with backoff
  (:mod:`.retry`) instead of FAILED;
* a run interrupted by shutdown (a second Ctrl+C, SIGTERM while stopping) goes back to READY
  instead of FAILED, so nothing is lost;
* results are written only if the row is still this worker's claim (same ``started_at``, still
  RUNNING): if the task was re-driven meanwhile, the newer run owns the outcome;
* with ``threads`` above 1, one process runs that many tasks at once (:class:`TaskThreads`):
  most tasks wait on WeCom's HTTP latency, not on the CPU, so a process with 16 threads keeps
  16 WeCom calls in flight where the library's worker keeps one. The main thread claims up to
  as many ready tasks as there are idle threads in one transaction (one database round trip
  for a batch instead of a poll per task) and hands them over; each thread keeps its own
  database connection. Urgent tasks are claimed first and, while they keep coming, hold back
  ordinary ones (:mod:`.priority`).
"""

import logging
import math
import os
import queue
import threading
import time
from datetime import timedelta
from traceback import format_exception

from django.core.exceptions import SuspiciousOperation
from django.db import OperationalError, close_old_connections, connections
from django.utils import timezone
from django_tasks_db.compat import TaskContext, TaskResultStatus, task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception, retry

from siyu.core.jobs.heartbeat import Housekeeper, heartbeat_beat, heartbeat_remove
from siyu.core.jobs.lanes import IDLE_SECONDS as LANE_IDLE_SECONDS
from siyu.core.jobs.lanes import Pressure, lanes
from siyu.core.jobs.priority import BACKGROUND_SLOTS_WHEN_BUSY, CALM_SECONDS, URGENT_PRIORITY
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
    def __init__(self, *, parent_pid: int | None = None, threads: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.parent_pid = parent_pid
        self.threads = max(1, int(threads))
        self._pool: TaskThreads | None = None
        self._forced = False
        self._urgent_seen = float("-inf")
        # Lane name → when it last found a burst (math.inf: in a round of one right now).
        self._lane_pressed: dict[str, float] = {}

    def run(self) -> None:
        queues = ",".join(self.queue_names)
        # The first beat is written before any claim, so no task is ever held by a worker
        # that looks dead.
        heartbeat_beat(worker_id=self.worker_id, queues=queues)
        housekeeper = Housekeeper(worker_id=self.worker_id, queues=queues,
                                  parent_pid=self.parent_pid)
        housekeeper.start()
        lane_threads = self._start_lanes()
        try:
            if self.threads > 1:
                self._run_threaded()
            else:
                super().run()
        finally:
            self.running = False
            for thread in lane_threads:
                thread.join(timeout=10)
            housekeeper.stop()
            heartbeat_remove(self.worker_id)
            logger.info("Worker %s (pid %s) stopped.", self.worker_id, os.getpid())

    # -- lanes (see .lanes) ------------------------------------------------------------------

    def _start_lanes(self) -> list[threading.Thread]:
        threads = []
        for lane in lanes():
            thread = threading.Thread(target=self._lane_loop, args=(lane,), daemon=True,
                                      name=f"lane-{lane.name}")
            thread.start()
            threads.append(thread)
        return threads

    def _lane_loop(self, lane) -> None:
        pressure, pressed = Pressure(), False
        try:
            while self.running:
                close_old_connections()
                if pressed:
                    # A round of a burst may outlast CALM_SECONDS (a batch waits on WeCom):
                    # ordinary tasks stay held back until it ends, not only after it.
                    self._lane_pressed[lane.name] = math.inf
                try:
                    taken = lane.run_round()
                except Exception:
                    logger.exception("Lane %s failed a round; trying again shortly.", lane.name)
                    self._lane_round_ended(lane, pressed=False)
                    pressed = False
                    time.sleep(1.0)
                    continue
                if taken and not lane.urgent:
                    pressed = False
                elif taken:
                    # Like urgent tasks: ordinary ones wait while the lane is busy.
                    self._urgent_seen = time.monotonic()
                    pressed = pressure.add(taken, self._urgent_seen)
                else:
                    pressed = False
                self._lane_round_ended(lane, pressed=pressed)
                if not taken:
                    time.sleep(LANE_IDLE_SECONDS)
        finally:
            connections.close_all()

    def _lane_round_ended(self, lane, *, pressed: bool) -> None:
        """A pressed round, or the end of one that ran under pressure, starts CALM_SECONDS."""
        if pressed or self._lane_pressed.get(lane.name) == math.inf:
            self._lane_pressed[lane.name] = time.monotonic()

    def _lanes_pressing(self, now: float) -> bool:
        return any(now - at < CALM_SECONDS for at in self._lane_pressed.values())

    # -- several tasks at once ---------------------------------------------------------------

    def _ready_tasks(self):
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        return tasks

    def claim_batch(self, limit: int, *, urgent_only: bool = False) -> list[DBTaskResult]:
        """Claims up to ``limit`` ready tasks in one transaction (priority order)."""
        tasks = self._ready_tasks()
        if urgent_only:
            # Newest first: urgent work has a deadline (a welcome within 20 s), and when the
            # workers fall behind, the oldest tasks are the ones past saving; first in, first
            # out would make every task of a backlog late (see :mod:`.priority`).
            tasks = tasks.filter(priority__gte=URGENT_PRIORITY).order_by(
                "-priority", "-enqueued_at")
        try:
            with exclusive_transaction(tasks.db):
                batch = list(tasks.select_for_update(skip_locked=True)[:limit])
                self._claim_rows(batch)
        except OperationalError as exc:
            if is_locked_database_exception(exc):
                return []  # busy: try again on the next round
            raise
        return batch

    def _claim_rows(self, batch: list[DBTaskResult]) -> None:
        """What DBTaskResult.claim does per row, as one UPDATE for the first attempts (the
        common case: their worker_ids are all empty); retried tasks one by one."""
        first = [t for t in batch if not t.worker_ids]
        if first:
            now = timezone.now()
            DBTaskResult.objects.filter(pk__in=[t.pk for t in first]).update(
                status=TaskResultStatus.RUNNING, started_at=now, worker_ids=[self.worker_id])
            for task_result in first:
                task_result.status, task_result.started_at = TaskResultStatus.RUNNING, now
                task_result.worker_ids = [self.worker_id]
        for task_result in batch:
            if task_result not in first:
                task_result.claim(self.worker_id)

    def _run_threaded(self) -> None:
        pool = self._pool = TaskThreads(self, self.threads)
        pool.start()
        if self.startup_delay and self.interval:
            time.sleep(random_delay())
        try:
            while self.running:
                if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                    break
                idle = pool.wait_for_idle(timeout=self.interval or 0.05)
                if not idle or not self.running:
                    continue
                close_old_connections()
                if self.max_tasks is not None:
                    idle = min(idle, self.max_tasks - self._run_tasks - pool.busy)
                batch = self._claim_round(pool, idle) if idle > 0 else []
                for task_result in batch:
                    pool.submit(task_result)
                if self.batch and not batch and not pool.busy:
                    return
                if not batch and self.running:
                    time.sleep(self.interval)
        finally:
            # SIGTERM: running tasks finish first. A second signal exits at once through
            # sys.exit in shutdown(), which has put what was still running back to READY.
            if not self._forced:
                pool.stop_and_join()

    def _claim_round(self, pool: "TaskThreads", idle: int) -> list[DBTaskResult]:
        """Urgent tasks first; ordinary ones in the threads left, few of them while urgent
        work keeps arriving (see :mod:`.priority`)."""
        batch = self.claim_batch(idle, urgent_only=True)
        now = time.monotonic()
        if batch:
            self._urgent_seen = now
        idle -= len(batch)
        if self._lanes_pressing(now):
            idle = 0  # a burst in a lane (see .lanes.PRESSURE_ITEMS)
        elif now - self._urgent_seen < CALM_SECONDS:
            idle = min(idle, BACKGROUND_SLOTS_WHEN_BUSY - pool.busy_ordinary)
        if idle > 0:
            batch += self.claim_batch(idle)
        return batch

    @property
    def running_task(self) -> bool:
        pool = self._pool
        return self._running_task or bool(pool is not None and pool.busy)

    @running_task.setter
    def running_task(self, value: bool) -> None:
        self._running_task = value

    def shutdown(self, signum, frame) -> None:
        if not self.running and self._pool is not None:
            self._forced = True
            self._pool.requeue_unfinished()
        super().shutdown(signum, frame)

    # -- one task ------------------------------------------------------------------------------

    def run_task(self, db_task_result: DBTaskResult) -> None:
        claimed_at = db_task_result.started_at
        if self._pool is None:
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
            if self._pool is None:
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


def random_delay() -> float:
    import random

    return random.random()


class TaskThreads:
    """``size`` daemon threads running claimed tasks for one worker. Daemon threads, so that a
    forced exit (second signal) does not wait for them; their tasks are re-queued instead."""

    def __init__(self, worker: SiyuWorker, size: int):
        self.worker = worker
        self.size = size
        self.tasks: queue.Queue = queue.Queue()
        self.lock = threading.Condition()
        self.running: dict[int, tuple[DBTaskResult, object]] = {}  # thread id -> (task, claim)
        self.busy = 0
        self.busy_ordinary = 0  # busy with tasks below URGENT_PRIORITY
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(self.size):
            thread = threading.Thread(target=self._loop, daemon=True,
                                      name=f"siyu-task-{number}")
            thread.start()
            self.threads.append(thread)

    def submit(self, task_result: DBTaskResult) -> None:
        with self.lock:
            self.busy += 1
            self.busy_ordinary += task_result.priority < URGENT_PRIORITY
        self.tasks.put(task_result)

    def wait_for_idle(self, timeout: float) -> int:
        """Number of idle threads, waiting up to ``timeout`` for one when all are busy."""
        with self.lock:
            if self.busy >= self.size:
                self.lock.wait(timeout)
            return self.size - self.busy

    def _loop(self) -> None:
        try:
            while True:
                task_result = self.tasks.get()
                if task_result is None:
                    return
                ident = threading.get_ident()
                with self.lock:
                    self.running[ident] = (task_result, task_result.started_at)
                try:
                    self.worker.run_task(task_result)
                except BaseException:
                    logger.exception("Task id=%s crashed its thread's loop.", task_result.pk)
                finally:
                    with self.lock:
                        self.running.pop(ident, None)
                        self.busy -= 1
                        self.busy_ordinary -= task_result.priority < URGENT_PRIORITY
                        self.lock.notify_all()
        finally:
            connections.close_all()  # this thread's connections

    def stop_and_join(self, timeout: float | None = None) -> None:
        for _thread in self.threads:
            self.tasks.put(None)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self.threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def requeue_unfinished(self) -> None:
        """Forced shutdown: tasks still running go back to READY (if still ours)."""
        with self.lock:
            unfinished = list(self.running.values())
        for task_result, claimed_at in unfinished:
            try:
                if _write_if_still_claimed(task_result, claimed_at,
                                           {"status": TaskResultStatus.READY,
                                            "run_after": timezone.now()}):
                    logger.warning("Task id=%s interrupted by shutdown; back in the queue.",
                                   task_result.pk)
            except Exception:
                # The reaper re-drives it once this worker's heartbeat goes stale.
                logger.exception("Task id=%s interrupted; could not re-queue it now.",
                                 task_result.pk)
