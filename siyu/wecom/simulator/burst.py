"""Bursts: many customers scanning one contact way at a fixed rate, as during a live stream.

``POST /sim/actions/burst {"state": "...", "rate": 150, "seconds": 60}`` (or ``config_id``)
schedules ``rate * seconds`` scans at exact times ``start + i / rate`` on the server's loop and
answers at once; each scan is the ``scan_contact_way`` action (state, follow, WelcomeCode,
add_external_contact callback), stamped with the simulator's clock when it is emitted, which is
the time ``send_welcome_msg`` measures the 20 s window (and ``delay_s``) from. A loop that falls
behind emits the overdue scans at once and records how late it was (``max_lag_ms``).

Callbacks of a burst are delivered by ``senders`` concurrent deliveries (a single sender waits
for each answer, which caps the rate at 1 / answer time). ``GET /sim/bursts`` reports each
burst: scans scheduled and emitted, when, and its callbacks by delivery status.
"""

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field

DEFAULT_SENDERS = 64
MAX_EVENTS = 1_000_000


@dataclass
class Burst:
    id: int
    config_id: str
    state: str
    rate: float
    count: int
    senders: int
    started_at: float | None = None  # simulator clock
    finished_at: float | None = None
    emitted: int = 0
    refused: int = 0  # scans the simulator could not do (e.g. the contact way was deleted)
    max_lag_ms: float = 0.0
    records: list = field(default_factory=list, repr=False)
    task: asyncio.Task | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        statuses = Counter(record["status"] for record in self.records)
        return {"id": self.id, "config_id": self.config_id, "state": self.state,
                "rate": self.rate, "count": self.count, "senders": self.senders,
                "started_at": self.started_at, "finished_at": self.finished_at,
                "emitted": self.emitted, "refused": self.refused,
                "max_lag_ms": round(self.max_lag_ms, 1), "running": self.finished_at is None,
                "callbacks": dict(statuses)}


class Bursts:
    def __init__(self, sim):
        self.sim = sim
        self.ids = itertools.count(1)
        self.all: dict[int, Burst] = {}

    def start(self, *, config_id: str, state: str, rate: float, count: int,
              senders: int) -> Burst:
        burst = Burst(id=next(self.ids), config_id=config_id, state=state, rate=rate,
                      count=count, senders=senders)
        self.all[burst.id] = burst
        self.sim.sender.ensure_workers(senders)
        burst.task = asyncio.get_running_loop().create_task(self._run(burst))
        return burst

    async def _run(self, burst: Burst) -> None:
        from siyu.wecom.simulator.actions import ActionError, scan_contact_way

        loop = asyncio.get_running_loop()
        start = loop.time()
        burst.started_at = self.sim.clock.now()
        try:
            for i in range(burst.count):
                due = start + i / burst.rate
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                burst.max_lag_ms = max(burst.max_lag_ms, (loop.time() - due) * 1000)
                try:
                    result = scan_contact_way(self.sim, config_id=burst.config_id)
                except ActionError:
                    burst.refused += 1
                    continue
                burst.emitted += 1
                record = self.sim.sender.record_by_id(result["callback_id"])
                if record is not None:
                    burst.records.append(record)
        finally:
            burst.finished_at = self.sim.clock.now()

    def as_list(self) -> list[dict]:
        return [burst.as_dict() for burst in self.all.values()]

    async def stop(self) -> None:
        tasks = [b.task for b in self.all.values() if b.task and not b.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
