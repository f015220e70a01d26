"""Real ``siyu worker`` subprocesses on the test database, for tests that kill workers.

The workers need committed data, so tests using this run with ``transaction=True``. None of the
started processes (nor the children of a supervisor) outlives the test: ``stop_all``.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

import siyu
from siyu.core.models import WorkerHeartbeat

PROJECT_ROOT = Path(siyu.__file__).resolve().parent.parent


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


class WorkerProcesses:
    """Starts ``siyu worker`` subprocesses with their output kept for failure messages."""

    settings_module = "siyu.settings"
    interval = "0.2"
    poll_seconds = 0.1

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def launch(self, *args: str, env: dict[str, str]) -> subprocess.Popen:
        log = self.tmp_path / f"worker-{len(self.logs)}.log"
        full_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "DATABASE_URL": test_database_url(),
            "SIYU_VAR_DIR": str(self.tmp_path),
            **env,
        }
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "siyu.cli", "worker", "--interval", self.interval, *args],
                env=full_env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
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
            time.sleep(self.poll_seconds)

    def stop_all(self) -> None:
        # Children of a supervisor are in their own process group; find them by heartbeat, so
        # nothing still writes to the database the test is about to flush.
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
