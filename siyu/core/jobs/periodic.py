"""Periodic hooks run by every worker's housekeeping thread.

Apps register a function at start-up (``AppConfig.ready``) so that core needs no knowledge of
them: ``register_periodic("wecom.sweep", sweep, every_seconds=15)``. Each worker process calls
the hooks that are due between heartbeats, so with several workers a hook runs several times per
period: hooks must be idempotent and safe to run concurrently (conditional updates). A hook that
raises is logged and tried again at its next period; it never stops the heartbeat.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections

logger = logging.getLogger("siyu.jobs")


@dataclass
class PeriodicHook:
    name: str
    fn: Callable[[], object]
    every_seconds: float
    next_due: float = 0.0  # time.monotonic(); 0 = due at the first round


_hooks: dict[str, PeriodicHook] = {}
_lock = threading.Lock()


def register_periodic(name: str, fn: Callable[[], object], every_seconds: float) -> None:
    """Run ``fn()`` every ``every_seconds`` in each worker; registering a name again replaces
    the earlier registration (``ready()`` may run more than once in tests)."""
    if every_seconds <= 0:
        raise ValueError("every_seconds must be positive.")
    with _lock:
        _hooks[name] = PeriodicHook(name=name, fn=fn, every_seconds=float(every_seconds))


def unregister_periodic(name: str) -> None:
    with _lock:
        _hooks.pop(name, None)


def periodic_hooks() -> list[PeriodicHook]:
    with _lock:
        return list(_hooks.values())


def run_due_periodic(*, now: float | None = None) -> list[str]:
    """Run the hooks that are due; names of the hooks that ran (successfully or not)."""
    now = time.monotonic() if now is None else now
    ran = []
    for hook in periodic_hooks():
        if now < hook.next_due:
            continue
        hook.next_due = now + hook.every_seconds
        ran.append(hook.name)
        try:
            hook.fn()
        except Exception:
            logger.exception("Periodic job %s failed; it runs again in %.0f s.", hook.name,
                             hook.every_seconds)
            # The failure may have broken this thread's connection; reconnect next time.
            connections.close_all()
    return ran
