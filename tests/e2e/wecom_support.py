"""What the end-to-end WeCom tests share: ``siyu worker`` subprocesses on the test database,
waiting with a deadline, and the state to compare with the simulator's.

The workers run with tests/e2e/wecom_worker_settings.py (Siyu's settings with the API client's
retry and 45009 waits scaled down to the simulator's) and environment overrides for the
timings a test shortens (stale heartbeats, dispatch lease, sweeper).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from siyu.core.models import WorkerHeartbeat
from siyu.core.tests.test_worker_process import PROJECT_ROOT, test_database_url
from siyu.wecom.models import WeComEvent

WORKER_SETTINGS = "tests.e2e.wecom_worker_settings"
BLOCK_SECONDS = 1.0  # SIYU_WECOM_MINUTE_BLOCK_SECONDS there, and the simulator's block window
UNFINISHED = (WeComEvent.Status.STORED, WeComEvent.Status.DISPATCHING, WeComEvent.Status.FAILED)


class Workers:
    """Starts ``siyu worker`` subprocesses; none outlives the test."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, *, stale_seconds: int = 30, lease_seconds: int = 300,
              sweep_every: int = 15, stored_after: int = 30) -> subprocess.Popen:
        log = self.tmp_path / f"worker-{len(self.logs)}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": WORKER_SETTINGS,
            "DATABASE_URL": test_database_url(),
            "SIYU_VAR_DIR": str(self.tmp_path),
            "SIYU_WORKER_STALE_SECONDS": str(stale_seconds),
            "SIYU_WECOM_DISPATCH_LEASE_SECONDS": str(lease_seconds),
            "SIYU_WECOM_SWEEP_EVERY_SECONDS": str(sweep_every),
            "SIYU_WECOM_SWEEP_STORED_AFTER_SECONDS": str(stored_after),
        }
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "siyu.cli", "worker", "--interval", "0.1"],
                env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        self.logs.append(log)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()}" for log in self.logs)

    def wait_for(self, condition, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"Timed out waiting for {what}.\n{self.output()}")
            time.sleep(0.05)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # Nothing else may still write to the database the test is about to flush.
        for pid in set(WorkerHeartbeat.objects.values_list("pid", flat=True)) - {
                p.pid for p in self.processes}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def statuses(corp) -> Counter:
    return Counter(WeComEvent.objects.for_corp(corp).values_list("status", flat=True))


def settled(corp, expected_events: int) -> bool:
    """Every expected callback is stored and none is left to dispatch."""
    counts = statuses(corp)
    return sum(counts.values()) == expected_events and not any(counts[s] for s in UNFINISHED)


def sent_callbacks(control) -> tuple[list[dict], list[dict]]:
    """(originals, duplicates) among the callbacks the simulator sent, oldest first."""
    records = sorted(control.callbacks(limit=2000), key=lambda r: r["id"])
    return ([r for r in records if r["duplicate_of"] is None],
            [r for r in records if r["duplicate_of"] is not None])


def calls_of(control, api: str) -> list[dict]:
    """The simulator's record of each call of ``api`` (errcode, time), oldest first."""
    return [c for c in reversed(control.calls()["recent"]) if c["api"] == api]
