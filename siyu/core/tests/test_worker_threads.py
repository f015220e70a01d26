"""Threaded workers (``siyu worker --threads N``): several tasks at once per process, claimed in
batches, urgent tasks first, and the same crash safety as one task at a time."""

import math
import signal
import threading
import time
from pathlib import Path

import pytest
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from siyu.core.jobs import URGENT_PRIORITY
from siyu.core.jobs import lanes as lanes_module
from siyu.core.jobs import priority as priority_module
from siyu.core.jobs.worker import SiyuWorker
from siyu.core.tasks import ping
from siyu.core.tests.tasks_for_tests import block_until_released
from tests.worker_processes import WorkerProcesses

SUCCESSFUL, RUNNING, READY = (TaskResultStatus.SUCCESSFUL, TaskResultStatus.RUNNING,
                              TaskResultStatus.READY)


def worker(**kwargs) -> SiyuWorker:
    options = {"queue_names": ["default"], "interval": 0.1, "batch": False,
               "backend_name": "default", "startup_delay": False, "max_tasks": None,
               "worker_id": "w-test", "excluded_queue_names": [], "threads": 4}
    return SiyuWorker(**(options | kwargs))


class Pool:
    """What _claim_round needs to know of the threads."""

    def __init__(self, busy_ordinary=0):
        self.busy_ordinary = busy_ordinary


# --- claiming, in process -----------------------------------------------------------------------

@pytest.mark.django_db
def test_claim_batch_takes_up_to_the_limit_in_priority_order_and_marks_them_running():
    ordinary = [ping.enqueue().id for _ in range(3)]
    urgent = ping.using(priority=URGENT_PRIORITY).enqueue().id
    retried = ping.enqueue().id
    DBTaskResult.objects.filter(pk=retried).update(worker_ids=["w-dead"])

    batch = worker().claim_batch(3)

    assert str(batch[0].pk) == urgent  # the highest priority first
    assert len(batch) == 3
    rows = {str(r.pk): r for r in DBTaskResult.objects.all()}
    for task in batch:
        row = rows[str(task.pk)]
        assert row.status == RUNNING and row.started_at is not None
        assert row.worker_ids[-1] == "w-test"
        assert (row.status, row.started_at, row.worker_ids) == (
            task.status, task.started_at, task.worker_ids)
    assert sum(rows[i].status == READY for i in [*ordinary, retried]) == 2
    # What is left: the others, and a retried task keeps the ids of its earlier workers.
    rest = worker().claim_batch(10)
    assert len(rest) == 2
    assert DBTaskResult.objects.get(pk=retried).worker_ids == ["w-dead", "w-test"]
    assert not worker().claim_batch(10)


@pytest.mark.django_db
def test_urgent_work_holds_back_ordinary_tasks_until_it_calms_down(monkeypatch):
    [ping.enqueue() for _ in range(3)]
    runner = worker()

    # No urgent task seen lately: ordinary tasks take every idle thread.
    assert len(runner._claim_round(Pool(), 2)) == 2

    urgent = [ping.using(priority=URGENT_PRIORITY).enqueue().id for _ in range(2)]
    ping.enqueue()
    # A thread busy with an ordinary task already: the urgent ones, no more ordinary ones.
    batch = runner._claim_round(Pool(busy_ordinary=1), 4)
    assert sorted(str(t.pk) for t in batch) == sorted(urgent)
    assert priority_module.BACKGROUND_SLOTS_WHEN_BUSY == 1
    # Still busy with urgent work, and no ordinary task running: one may run, not more.
    assert len(runner._claim_round(Pool(), 4)) == 1
    assert runner._claim_round(Pool(busy_ordinary=1), 4) == []

    ping.enqueue()
    monkeypatch.setattr(runner, "_urgent_seen", time.monotonic() - priority_module.CALM_SECONDS)
    assert len(runner._claim_round(Pool(busy_ordinary=1), 4)) == 2  # calm: the backlog drains


def test_lane_pressure_counts_items_over_a_window_not_per_round():
    pressure = lanes_module.Pressure()
    assert lanes_module.PRESSURE_ITEMS == 20 and lanes_module.PRESSURE_SECONDS == 1.0
    # A burst taken in rounds of 5 within one second is a burst.
    assert [pressure.add(5, 0.1 * i) for i in range(4)] == [False, False, False, True]
    # A trickle of one item every half second never is, however long it lasts.
    trickle = lanes_module.Pressure()
    assert not any(trickle.add(1, 0.5 * i) for i in range(200))


@pytest.mark.django_db
def test_a_lane_busy_in_small_rounds_holds_back_every_ordinary_task_until_calm():
    ping.enqueue()
    runner = worker()
    in_long_round, release = threading.Event(), threading.Event()
    rounds = iter([5, 5, 5, 5, "long"])

    def run_round():
        taken = next(rounds, 0)
        if taken == "long":  # a round of the burst that waits on WeCom for a while
            in_long_round.set()
            release.wait(10)
            return 5
        if not taken:
            runner.running = False
        return taken

    # In a thread of its own, as in the worker: the loop closes its thread's connections.
    thread = threading.Thread(target=runner._lane_loop,
                              args=(lanes_module.Lane("test", run_round),))
    thread.start()
    assert in_long_round.wait(10)
    # However long the round takes, nothing ordinary starts meanwhile.
    assert runner._lane_pressed["test"] == math.inf
    assert runner._claim_round(Pool(), 4) == []
    release.set()
    thread.join(10)
    assert runner._claim_round(Pool(), 4) == []  # the round just ended: not calm yet
    runner._lane_pressed["test"] = time.monotonic() - priority_module.CALM_SECONDS
    runner._urgent_seen = time.monotonic() - priority_module.CALM_SECONDS
    assert len(runner._claim_round(Pool(), 4)) == 1  # calm: the ordinary task runs


# --- real worker processes ----------------------------------------------------------------------

def status_of(result_id) -> str:
    return DBTaskResult.objects.get(pk=result_id).status


def runs(flags: Path) -> int:
    path = flags / "runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


class Workers(WorkerProcesses):
    def start(self, *args: str, stale_seconds: int = 30):
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


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_threads_run_tasks_at_once_and_a_killed_worker_loses_none(workers, flags):
    blocked = [block_until_released.enqueue(str(flags)).id for _ in range(3)]
    first = workers.start("--threads", "4")
    # All three run at the same time in one process: none can finish before the release.
    workers.wait_for(lambda: runs(flags) == 3, "three tasks running at once")
    assert {status_of(b) for b in blocked} == {RUNNING}
    holders = {DBTaskResult.objects.get(pk=b).worker_ids[-1] for b in blocked}
    assert len(holders) == 1

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    (flags / "release").touch()
    workers.start("--threads", "4", stale_seconds=2)
    workers.wait_for(lambda: all(status_of(b) == SUCCESSFUL for b in blocked),
                     "the second worker to re-drive and finish all three")
    assert runs(flags) == 6  # each task once more, none twice
    for b in blocked:
        assert len(DBTaskResult.objects.get(pk=b).worker_ids) == 2


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sigterm_lets_running_tasks_finish_before_the_threaded_worker_exits(workers, flags):
    blocked = [block_until_released.enqueue(str(flags)).id for _ in range(2)]
    process = workers.start("--threads", "4")
    workers.wait_for(lambda: runs(flags) == 2, "both tasks running")
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert process.poll() is None  # waiting for its tasks
    (flags / "release").touch()
    assert process.wait(15) == 0
    assert {status_of(b) for b in blocked} == {SUCCESSFUL}


@pytest.mark.django_db
def test_urgent_tasks_are_taken_newest_first():
    """They carry deadlines: in a backlog, the newest can still make theirs."""
    older = ping.using(priority=URGENT_PRIORITY).enqueue().id
    newer = ping.using(priority=URGENT_PRIORITY).enqueue().id
    ordinary = ping.enqueue().id
    [first] = worker().claim_batch(1, urgent_only=True)
    assert str(first.pk) == newer
    assert [str(t.pk) for t in worker().claim_batch(5, urgent_only=True)] == [older]
    assert [str(t.pk) for t in worker().claim_batch(5)] == [ordinary]
