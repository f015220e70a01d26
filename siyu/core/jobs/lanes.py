"""Lanes: work a worker process polls for itself, beside the task queue, in a thread each.

A lane is a function ``run_round() -> int`` that handles one batch of something urgent and
returns how much was waiting (0 when nothing was). Apps register theirs in ``ready()``::

    register_lane("wecom.welcomes", run_welcome_round)

It exists for work where a task row per item costs more than the item: the welcome messages of
a live-stream burst, each due within 20 s. While a lane keeps finding work, the worker treats
it like urgent tasks and holds back ordinary ones (see :mod:`.priority`); under a burst it runs
none at all.
"""

from collections.abc import Callable
from dataclasses import dataclass

# How long an idle lane waits before looking again: the delay it adds to an urgent item.
IDLE_SECONDS = 0.1
# A round taking this many items means a burst: the worker then runs no ordinary task at all
# (each one holds the CPU and the GIL the lane needs) until the lane has been under it for
# CALM_SECONDS. A trickle of items stays below it, so ordinary work is never starved by one.
PRESSURE_ITEMS = 20


@dataclass(frozen=True)
class Lane:
    name: str
    run_round: Callable[[], int]


_lanes: dict[str, Lane] = {}


def register_lane(name: str, run_round: Callable[[], int]) -> None:
    _lanes[name] = Lane(name, run_round)


def unregister_lane(name: str) -> None:
    _lanes.pop(name, None)


def lanes() -> list[Lane]:
    return list(_lanes.values())
