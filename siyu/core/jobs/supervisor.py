"""Run N worker processes and keep them running (``siyu worker --processes N``).

django-tasks-db runs one task at a time per process, so parallelism means processes. Each child
is ``siyu worker --processes 1`` with a worker id chosen here; when a child dies the supervisor
re-drives its task at once (it knows the child is dead, no need to wait for the heartbeat to go
stale), drops its heartbeat and starts a replacement, backing off if children keep dying young.
Children run in their own process group so a terminal's Ctrl+C reaches only the supervisor,
which then stops them with one SIGTERM each (finish the current task, then exit).
"""

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from siyu.core.jobs.heartbeat import heartbeat_remove, new_worker_id
from siyu.core.jobs.reaper import redrive_tasks_of

logger = logging.getLogger("siyu.jobs")

PARENT_PID_ENV = "SIYU_WORKER_PARENT_PID"
YOUNG_DEATH_SECONDS = 10.0
MAX_RESTART_DELAY = 30.0


@dataclass
class Slot:
    process: subprocess.Popen | None = None
    worker_id: str = ""
    started: float = 0.0
    restart_at: float = 0.0
    young_deaths: int = 0


class Supervisor:
    def __init__(self, *, processes: int, worker_args: list[str], grace_seconds: float = 30.0):
        self.slots = [Slot() for _ in range(processes)]
        self.worker_args = worker_args
        self.grace_seconds = grace_seconds
        self.signals_received = 0

    def run(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        logger.info("Supervisor pid %s starting %d workers.", os.getpid(), len(self.slots))
        try:
            while not self.signals_received:
                now = time.monotonic()
                for slot in self.slots:
                    if slot.process is None:
                        if now >= slot.restart_at:
                            self._start(slot)
                    elif slot.process.poll() is not None:
                        self._bury(slot, now)
                time.sleep(0.2)
        finally:
            self._stop_all()

    def _on_signal(self, signum, frame) -> None:
        self.signals_received += 1
        if self.signals_received > 1:
            # A second signal: stop waiting for running tasks (they are re-queued below).
            for slot in self.slots:
                if slot.process is not None and slot.process.poll() is None:
                    slot.process.kill()

    def _start(self, slot: Slot) -> None:
        slot.worker_id = new_worker_id()
        argv = [sys.executable, "-m", "siyu.cli", "worker", "--processes", "1",
                "--worker-id", slot.worker_id, *self.worker_args]
        env = {**os.environ, PARENT_PID_ENV: str(os.getpid())}
        slot.process = subprocess.Popen(argv, env=env, process_group=0)
        slot.started = time.monotonic()
        logger.info("Started worker %s (pid %s).", slot.worker_id, slot.process.pid)

    def _bury(self, slot: Slot, now: float) -> None:
        code = slot.process.returncode
        logger.warning("Worker %s (pid %s) exited with code %s; restarting it.", slot.worker_id,
                       slot.process.pid, code)
        self._clean_up_after(slot.worker_id)
        # A child that keeps dying right after start (bad config, database down) is restarted
        # after 1, 3, 7 ... seconds instead of in a tight loop.
        if now - slot.started < YOUNG_DEATH_SECONDS:
            slot.young_deaths += 1
        else:
            slot.young_deaths = 0
        slot.restart_at = now + min(MAX_RESTART_DELAY, 2.0 ** slot.young_deaths - 1)
        slot.process = None

    def _clean_up_after(self, worker_id: str) -> None:
        try:
            for task_id in redrive_tasks_of(worker_id):
                logger.warning("Re-queued task %s of dead worker %s.", task_id, worker_id)
            heartbeat_remove(worker_id)
        except Exception:
            # The workers' reapers catch it once the dead worker's heartbeat is stale.
            logger.exception("Could not re-drive the tasks of worker %s now.", worker_id)

    def _stop_all(self) -> None:
        alive = [s for s in self.slots if s.process is not None and s.process.poll() is None]
        for slot in alive:
            slot.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for slot in alive:
            try:
                slot.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("Worker %s did not stop within %.0f s; killing it.",
                               slot.worker_id, self.grace_seconds)
                slot.process.kill()
                slot.process.wait()
            if slot.process.returncode != 0:
                self._clean_up_after(slot.worker_id)
        logger.info("Supervisor pid %s stopped.", os.getpid())
