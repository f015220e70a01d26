"""Who a live code's contact way points at right now (pure; no database).

WeCom's contact way takes a list of users and spreads scans among them; Siyu rotates by
updating that list. So the answer here is the list to push:

- ``random``: every eligible employee (WeCom picks among them);
- ``round_robin``: the one employee whose turn it is (``rotation`` modulo the pool);
- ``time_slot``: every employee on duty now.

Eligible means: active (resigned employees never), under their daily cap for the China day,
and for ``time_slot`` on duty. When no primary member is eligible, the backups are used
(under their own caps). Departments arrive already expanded to their employees.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")

RANDOM, ROUND_ROBIN, TIME_SLOT = "random", "round_robin", "time_slot"


@dataclass(frozen=True)
class Person:
    id: int
    userid: str
    active: bool = True


@dataclass(frozen=True)
class Slot:
    weekdays: frozenset[int]  # Monday = 0
    start: time
    end: time  # end <= start: the slot runs past midnight into the next day

    def covers(self, moment: datetime) -> bool:
        local = moment.astimezone(CHINA)
        clock, weekday = local.time(), local.weekday()
        if self.start < self.end:
            return weekday in self.weekdays and self.start <= clock < self.end
        # Crosses midnight: the evening part on a listed day, the morning part the day after.
        yesterday = (weekday - 1) % 7
        return ((weekday in self.weekdays and clock >= self.start)
                or (yesterday in self.weekdays and clock < self.end))


@dataclass(frozen=True)
class Member:
    people: tuple[Person, ...]  # one for an employee member; the expansion of a department
    daily_cap: int | None = None
    is_backup: bool = False
    order: int = 0
    slots: tuple[Slot, ...] = ()


@dataclass(frozen=True)
class Assignment:
    people: tuple[Person, ...]
    used_backup: bool = False
    # Why nobody is eligible ("" when someone is): "all_capped_or_off_duty".
    reason: str = ""
    userids: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "userids", tuple(p.userid for p in self.people))


def china_day(moment: datetime):
    return moment.astimezone(CHINA).date()


def _pool(members: Iterable[Member], counts: Mapping[int, int], moment: datetime,
          *, on_duty_only: bool) -> list[Person]:
    pool: list[Person] = []
    seen: set[int] = set()
    for member in sorted(members, key=lambda m: m.order):
        if on_duty_only and not any(slot.covers(moment) for slot in member.slots):
            continue
        for person in member.people:
            # An employee listed twice (directly and through a department) counts once,
            # under the first listing's cap.
            if person.id in seen:
                continue
            seen.add(person.id)
            if not person.active:
                continue
            if member.daily_cap is not None and counts.get(person.id, 0) >= member.daily_cap:
                continue
            pool.append(person)
    return pool


def assign(members: Sequence[Member], mode: str, *, now: datetime,
           counts: Mapping[int, int] | None = None, rotation: int = 0) -> Assignment:
    """The employees the contact way should list at ``now``.

    ``counts``: customers assigned today (China day) per employee id. ``rotation``: the
    round-robin position (a counter that only grows)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if mode not in (RANDOM, ROUND_ROBIN, TIME_SLOT):
        raise ValueError(f"unknown assignment mode {mode!r}")
    counts = counts or {}
    primary = [m for m in members if not m.is_backup]
    backups = [m for m in members if m.is_backup]
    pool = _pool(primary, counts, now, on_duty_only=mode == TIME_SLOT)
    used_backup = False
    if not pool:
        # Backups stand in whatever the hour: they cover when the regular staff is off duty.
        pool = _pool(backups, counts, now, on_duty_only=False)
        used_backup = bool(pool)
    if not pool:
        return Assignment((), reason="all_capped_or_off_duty")
    if mode == ROUND_ROBIN:
        pool = [pool[rotation % len(pool)]]
    return Assignment(tuple(pool), used_backup=used_backup)


def next_change(slots: Iterable[Slot], now: datetime) -> datetime | None:
    """The next minute boundary at which some slot starts or ends (when to re-push the list),
    within the coming week; ``None`` when there are no slots."""
    local = now.astimezone(CHINA)
    best = None
    for slot in slots:
        for day_offset in range(9):
            day = (local + timedelta(days=day_offset)).date()
            edges = []
            if day.weekday() in slot.weekdays:
                edges.append(slot.start)
            # A slot crossing midnight ends on the day after a listed day.
            end_day = day.weekday() if slot.start < slot.end else (day.weekday() - 1) % 7
            if end_day in slot.weekdays:
                edges.append(slot.end)
            for edge in edges:
                candidate = datetime.combine(day, edge, tzinfo=CHINA)
                if candidate > local and (best is None or candidate < best):
                    best = candidate
    return best


def next_refresh(members: Sequence[Member], mode: str, now: datetime) -> datetime | None:
    """When the list to push may next change by the clock alone: a duty slot starting or
    ending (``time_slot`` codes), or China midnight when daily caps start over. ``None`` when
    only adds change it."""
    candidates = []
    if mode == TIME_SLOT:
        edge = next_change((s for m in members for s in m.slots), now)
        if edge is not None:
            candidates.append(edge)
    if any(m.daily_cap is not None for m in members):
        tomorrow = now.astimezone(CHINA).date() + timedelta(days=1)
        candidates.append(datetime.combine(tomorrow, time(0, 0), tzinfo=CHINA))
    return min(candidates) if candidates else None
