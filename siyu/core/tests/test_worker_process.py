"""Real worker processes: a task whose worker is killed mid-run is run again, exactly once.

The workers are subprocesses on the test database (SQLite file or PostgreSQL test database),
so these tests need committed data: ``transaction=True``.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

import siyu
from siyu.core.models import WorkerHeartbeat
from siyu.core.tasks import ping
from siyu.core.tests.tasks_for_tests import block_until_released

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PROJECT_ROOT = Path(siyu.__file__).resolve().parent.parent
SUCCESSFUL, RUNNING = TaskResultStatus.SUCCESSFUL, TaskResultStatus.RUNNING


def test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "localhost", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgresql://{credentials}@{host}{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


class Workers:
    """Starts ``siyu worker`` subprocesses and makes sure none outlives the test."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, *args: str, stale_seconds: int) -> subprocess.Popen:
        log = self.tmp_path / f"worker-{len(self.logs)}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "siyu.settings",
            "DATABASE_URL": test_database_url(),
            "SIYU_VAR_DIR": str(self.tmp_path),
            "SIYU_WORKER_STALE_SECONDS": str(stale_seconds),
        }
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "siyu.cli", "worker", "--interval", "0.2", *args],
                env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        self.logs.append(log)
        return process

    def output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()}" for log in self.logs)

    def wait_for(self, condition, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"Timed out waiting for {what}.\n{self.output()}")
            time.sleep(0.1)

    def stop_all(self) -> None:
        # Children of a supervisor are in their own process group; find them by heartbeat.
        child_pids = set(WorkerHeartbeat.objects.values_list("pid", flat=True))
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in child_pids - {p.pid for p in self.processes}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def workers(tmp_path):
    workers = Workers(tmp_path)
    yield workers
    (tmp_path / "flags" / "release").touch()
    workers.stop_all()


@pytest.fixture
def flags(tmp_path):
    path = tmp_path / "flags"
    path.mkdir()
    return path


def status_of(result_id) -> str:
    return DBTaskResult.objects.get(pk=result_id).status


def runs(flags: Path) -> int:
    path = flags / "runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_task_of_a_killed_worker_runs_again_exactly_once(workers, flags):
    blocked = block_until_released.enqueue(str(flags)).id
    first = workers.start(stale_seconds=30)
    workers.wait_for(lambda: status_of(blocked) == RUNNING and runs(flags) == 1,
                     "the first worker to start the task")
    # Enqueued while the only worker is busy: must not be lost when that worker dies.
    waiting = ping.enqueue().id

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    dead_worker = DBTaskResult.objects.get(pk=blocked).worker_ids[-1]
    assert status_of(blocked) == RUNNING  # django-tasks-db alone would leave it so forever

    (flags / "release").touch()
    second = workers.start(stale_seconds=2)
    workers.wait_for(lambda: status_of(blocked) == SUCCESSFUL and status_of(waiting) == SUCCESSFUL,
                     "the second worker to re-drive and finish both tasks")

    row = DBTaskResult.objects.get(pk=blocked)
    assert runs(flags) == 2
    assert row.return_value == 2
    assert len(row.worker_ids) == 2
    assert row.worker_ids[0] == dead_worker != row.worker_ids[1]
    assert row.exception_class_path == "" and row.traceback == ""
    assert "re-queued" in workers.output()

    second.send_signal(signal.SIGTERM)
    assert second.wait(15) == 0
    live = set(WorkerHeartbeat.objects.values_list("worker_id", flat=True))
    assert row.worker_ids[1] not in live  # clean shutdown removes the heartbeat
    assert dead_worker in live  # a killed worker cannot


def test_supervisor_replaces_a_killed_child_and_redrives_its_task_at_once(workers, flags):
    blocked = block_until_released.enqueue(str(flags)).id
    # A stale timeout longer than the test: only the supervisor's own re-drive can save the task.
    supervisor = workers.start("--processes", "2", stale_seconds=300)
    workers.wait_for(lambda: status_of(blocked) == RUNNING and runs(flags) == 1
                     and WorkerHeartbeat.objects.count() == 2, "two workers, one running the task")
    holder = DBTaskResult.objects.get(pk=blocked).worker_ids[-1]
    killed_pid = WorkerHeartbeat.objects.get(worker_id=holder).pid

    os.kill(killed_pid, signal.SIGKILL)
    (flags / "release").touch()
    workers.wait_for(lambda: status_of(blocked) == SUCCESSFUL, "the task to be re-driven")
    workers.wait_for(
        lambda: WorkerHeartbeat.objects.count() == 2
        and not WorkerHeartbeat.objects.filter(worker_id=holder).exists(),
        "a replacement worker",
    )
    row = DBTaskResult.objects.get(pk=blocked)
    assert runs(flags) == 2
    assert row.worker_ids[0] == holder != row.worker_ids[-1]

    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(20) == 0
    assert WorkerHeartbeat.objects.count() == 0
