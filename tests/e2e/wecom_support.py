"""What the end-to-end WeCom tests share: ``siyu worker`` subprocesses on the test database,
waiting with a deadline, and the state to compare with the simulator's.

The workers run with tests/e2e/wecom_worker_settings.py (Siyu's settings with the API client's
retry and 45009 waits scaled down to the simulator's) and environment overrides for the
timings a test shortens (stale heartbeats, dispatch lease, sweeper).
"""

from collections import Counter

from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from siyu.wecom.models import WeComEvent
from tests.worker_processes import WorkerProcesses

WORKER_SETTINGS = "tests.e2e.wecom_worker_settings"
BLOCK_SECONDS = 1.0  # SIYU_WECOM_MINUTE_BLOCK_SECONDS there, and the simulator's block window
UNFINISHED = (WeComEvent.Status.STORED, WeComEvent.Status.QUEUED, WeComEvent.Status.DISPATCHING,
              WeComEvent.Status.FAILED)


class Workers(WorkerProcesses):
    """Workers with the e2e settings and the timings a test shortens."""

    settings_module = WORKER_SETTINGS
    interval = "0.1"
    poll_seconds = 0.05

    def start(self, *, stale_seconds: int = 30, lease_seconds: int = 300,
              sweep_every: int = 15, threads: int | None = None):
        extra = {} if threads is None else {"SIYU_WORKER_THREADS": str(threads)}
        return self.launch(env={
            **extra,
            "SIYU_WORKER_STALE_SECONDS": str(stale_seconds),
            "SIYU_WECOM_DISPATCH_LEASE_SECONDS": str(lease_seconds),
            "SIYU_WECOM_SWEEP_EVERY_SECONDS": str(sweep_every),
        })


def statuses(corp) -> Counter:
    return Counter(WeComEvent.objects.for_corp(corp).values_list("status", flat=True))


def settled(corp, expected_events: int) -> bool:
    """Every expected callback is stored, none is left to dispatch, and no job its subscribers
    queued (domain events' subscribers) is left to run."""
    counts = statuses(corp)
    if sum(counts.values()) != expected_events or any(counts[s] for s in UNFINISHED):
        return False
    return not DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]).exists()


def sent_callbacks(control) -> tuple[list[dict], list[dict]]:
    """(originals, duplicates) among the callbacks the simulator sent, oldest first."""
    records = sorted(control.callbacks(limit=2000), key=lambda r: r["id"])
    return ([r for r in records if r["duplicate_of"] is None],
            [r for r in records if r["duplicate_of"] is not None])


def calls_of(control, api: str) -> list[dict]:
    """The simulator's record of each call of ``api`` (errcode, time), oldest first."""
    return [c for c in reversed(control.calls()["recent"]) if c["api"] == api]
