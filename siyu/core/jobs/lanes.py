"""Lanes: work a worker process polls for itself, beside the task queue, in a thread each.

A lane is a function ``run_round() -> int`` that handles one batch of something urgent and
returns how much was waiting (0 when nothing was). Apps register theirs in ``ready()``::

    register_lane("engagement.welcomes", run_welcome_round)

It exists for work where a task row per item costs more than the item: the welcome messages of
a live-stream burst, each due within 20 s. While a lane keeps finding work, the worker treats
it like urgent tasks and holds back ordinary ones (see :mod:`.priority`); under a burst it runs
none at all.
"""

from collections.abc import Callable
from dataclasses import dataclass

# How long an idle lane waits before looking again: the delay it adds to an urgent item.
IDLE_SECONDS = 0.1
# A lane finding this many items within PRESSURE_SECONDS means a burst: the worker then runs no
# ordinary task at all (each one holds the CPU and the GIL the lane needs) until the lane has
# been under it for CALM_SECONDS. Counted over a window, not per round: a fast lane takes a
# burst in many small rounds, each below any per-round threshold (seen on PostgreSQL: the
# customer upserts of earlier adds then ran beside the lane and it fell behind). A trickle of
# items stays below it, so ordinary work is never starved by one.
PRESSURE_ITEMS = 20
PRESSURE_SECONDS = 1.0


@dataclass(frozen=True)
class Lane:
    name: str
    run_round: Callable[[], int]
    # Urgent lanes (the welcomes) hold ordinary tasks back while they are busy; a lane that
    # feeds ordinary work (the dispatch of callbacks) must not hold back what it feeds.
    urgent: bool = True


class Pressure:
    """Whether a lane's items add up to a burst: at least PRESSURE_ITEMS within a window of
    PRESSURE_SECONDS."""

    def __init__(self):
        self.window_start = float("-inf")
        self.items = 0

    def add(self, items: int, now: float) -> bool:
        if now - self.window_start > PRESSURE_SECONDS:
            self.window_start, self.items = now, 0
        self.items += items
        return self.items >= PRESSURE_ITEMS


_lanes: dict[str, Lane] = {}


def register_lane(name: str, run_round: Callable[[], int], *, urgent: bool = True) -> None:
    _lanes[name] = Lane(name, run_round, urgent)


def lanes() -> list[Lane]:
    return list(_lanes.values())
