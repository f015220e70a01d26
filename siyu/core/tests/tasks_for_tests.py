"""Tasks used by the job system's tests; importable by worker subprocesses."""

import os
import time
from pathlib import Path

from django_tasks import task

from siyu.core.jobs import TransientError, retrying


@retrying(max_attempts=3, base_delay=2.0)
@task()
def flaky(*, corp_id: int | None = None) -> None:
    raise TransientError("upstream busy")


@task()
@retrying(max_attempts=2, base_delay=1.0, retry_on=(ValueError,))
def flaky_value() -> None:
    raise ValueError("bad value, try again")


@task()
def transient_without_policy() -> None:
    raise TransientError("busy")


@task()
def broken(*, corp_id: int | None = None) -> None:
    raise RuntimeError("boom")


@task()
def interrupted() -> None:
    raise KeyboardInterrupt


@task()
def block_until_released(flag_dir: str) -> int:
    """Record a run in ``flag_dir/runs``, then wait until ``flag_dir/release`` exists."""
    flags = Path(flag_dir)
    with (flags / "runs").open("a") as runs:
        runs.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + 60
    while not (flags / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("Nobody released the task within 60 seconds.")
        time.sleep(0.05)
    return len((flags / "runs").read_text().splitlines())
