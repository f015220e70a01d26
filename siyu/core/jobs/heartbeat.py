"""Worker liveness: heartbeat rows, written by a background thread next to each worker.

The same thread runs the reaper (:mod:`.reaper`) and the apps' periodic hooks
(:mod:`.periodic`) every few seconds, so a worker busy with a long
task still re-drives the tasks of workers that died. The thread uses its own database connection
(Django connections are per thread) and closes it when it stops.
"""

import logging
import os
import signal
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.crypto import get_random_string

from siyu.core.models import WorkerHeartbeat

logger = logging.getLogger("siyu.jobs")


def stale_seconds() -> float:
    return float(settings.SIYU_WORKER_STALE_SECONDS)


def heartbeat_interval(stale: float) -> float:
    # Several beats fit in one stale window, so one slow write does not make a worker look dead.
    return max(0.5, min(5.0, stale / 4))


def reap_interval(stale: float) -> float:
    return max(1.0, min(10.0, stale / 2))


def new_worker_id() -> str:
    # No pid in the id: a supervisor picks its children's ids before they exist.
    return f"{socket.gethostname()[:48]}-{get_random_string(12)}"


def heartbeat_beat(*, worker_id: str, queues: str) -> None:
    now = timezone.now()
    if not WorkerHeartbeat.objects.filter(worker_id=worker_id).update(last_seen=now):
        WorkerHeartbeat.objects.create(
            worker_id=worker_id, hostname=socket.gethostname()[:255], pid=os.getpid(),
            queues=queues[:200], last_seen=now,
        )


def heartbeat_remove(worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def live_worker_ids(*, now=None, stale: float | None = None) -> set[str]:
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=stale_seconds() if stale is None else stale)
    return set(
        WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).values_list("worker_id", flat=True)
    )


def forget_dead_workers(*, now=None, stale: float | None = None) -> int:
    """Delete heartbeats of workers long gone (killed ones never delete their own)."""
    now = now or timezone.now()
    keep = max(10 * (stale_seconds() if stale is None else stale), 600)
    deleted, _ = WorkerHeartbeat.objects.filter(
        last_seen__lt=now - timedelta(seconds=keep)
    ).delete()
    return deleted


class Housekeeper(threading.Thread):
    """Beats for one worker, re-drives tasks of dead workers, notices a vanished supervisor."""

    def __init__(self, *, worker_id: str, queues: str, parent_pid: int | None = None):
        super().__init__(name=f"siyu-heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.queues = queues
        self.parent_pid = parent_pid
        stale = stale_seconds()
        self.beat_every = heartbeat_interval(stale)
        self.reap_every = reap_interval(stale)
        self._stopping = threading.Event()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        from siyu.core.jobs.periodic import run_due_periodic
        from siyu.core.jobs.reaper import redrive_stale_tasks

        next_reap = 0.0
        try:
            while not self._stopping.is_set():
                self._guarded("write the heartbeat", lambda: heartbeat_beat(
                    worker_id=self.worker_id, queues=self.queues))
                if time.monotonic() >= next_reap:
                    next_reap = time.monotonic() + self.reap_every
                    self._guarded("re-drive tasks of dead workers", redrive_stale_tasks)
                    self._guarded("forget dead workers", forget_dead_workers)
                self._guarded("run periodic jobs", run_due_periodic)
                self._check_parent()
                self._stopping.wait(self.beat_every)
        finally:
            connections.close_all()  # only this thread's connections

    def _guarded(self, what: str, action) -> None:
        try:
            action()
        except Exception:
            # A database hiccup must not kill the heartbeat; reconnect on the next round.
            logger.exception("Worker %s could not %s", self.worker_id, what)
            connections.close_all()

    def _check_parent(self) -> None:
        # Children of a supervisor that died would otherwise run on unsupervised forever.
        if self.parent_pid and os.getppid() != self.parent_pid:
            logger.warning("Worker %s lost its supervisor (pid %s); stopping.", self.worker_id,
                           self.parent_pid)
            self.parent_pid = None
            os.kill(os.getpid(), signal.SIGTERM)
