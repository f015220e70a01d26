"""Real worker processes: a task whose worker is killed mid-run is run again, exactly once.

The workers are subprocesses on the test database (SQLite file or PostgreSQL test database),
so these tests need committed data: ``transaction=True``.
"""

import os
import signal
from pathlib import Path

import pytest
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from siyu.core.models import WorkerHeartbeat
from siyu.core.tasks import ping
from siyu.core.tests.tasks_for_tests import block_until_released
from tests.worker_processes import WorkerProcesses

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SUCCESSFUL, RUNNING = TaskResultStatus.SUCCESSFUL, TaskResultStatus.RUNNING


class Workers(WorkerProcesses):
    def start(self, *args: str, stale_seconds: int):
        return self.launch(*args, env={"SIYU_WORKER_STALE_SECONDS": str(stale_seconds)})


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
