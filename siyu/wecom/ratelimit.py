"""Rate limits per corp and API, shared by every process through the RateWindow table.

WeCom allows each corp 10,000 calls a minute and 150,000 an hour per API (fewer for some APIs,
see ``DEFAULT_LIMITS``); over that it answers 45009 and blocks the API for 60 s (minute limit)
or 60 min (hour limit). The limiter keeps every process under the limits without a database
write per call:

* A process *leases* a block of calls from the current minute and hour windows with one short
  transaction (read the two counters, then a compare-and-set UPDATE of each; a lost race rolls
  back and tries again), and spends the block in memory.
* Lease sizes adapt: each lease within the same minute doubles the last one (up to
  ``SIYU_WECOM_RATE_LEASE``), a new minute starts from half of it. A busy process makes about
  one database round trip per hundred calls; a quiet one leases one or two calls and so wastes
  next to nothing of a small limit when its lease lapses at the end of the minute.
* When a window is spent, callers wait for the next one (longer waits than the client allows
  inline raise ``WeComRateLimited``).
* A 45009 that comes anyway (another system using the same corp, clock skew) marks the API
  blocked in ``RateWindow.blocked_until`` for 60 s — for 60 min when WeCom names the hour limit
  or the block comes back right after a minute block — and every process waits it out.

Windows are aligned to the clock (the minute and the hour), like the simulator's; leases count
``SIYU_WECOM_RATE_HEADROOM`` (90 %) of each limit, which absorbs skew between our clock and
WeCom's. Works on SQLite (one writer: every transaction here is a few statements, and no lock is
held in Python while the database is used) and on PostgreSQL (the compare-and-set makes
concurrent leases safe under READ COMMITTED).

``try_take`` and the bookkeeping are in memory; ``lease`` and ``block`` touch the database and
are plain synchronous functions that :mod:`siyu.wecom.flow` calls when needed.
"""

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from siyu.wecom.clientconf import conf
from siyu.wecom.models import RateWindow

logger = logging.getLogger("siyu.wecom.ratelimit")

# (per minute, per hour) per corp; None = no limit in that window. "*" is every other API.
DEFAULT_LIMITS: dict[str, tuple[int | None, int | None]] = {
    "*": (10_000, 150_000),
    "externalcontact/add_moment_task": (10, 150_000),
    "get_jsapi_ticket": (10_000, 400),
    "ticket/get": (10_000, 400),
}
# A 45009 this soon after a minute block ended means the hour limit was hit.
ESCALATE_WITHIN = timedelta(minutes=2)
# A lease that lost this many compare-and-set races in a row gives up for now (waits a moment).
MAX_CAS_ROUNDS = 10
# Sleeping until a window starts lands this much after its boundary, never just before it.
BOUNDARY_SLACK = 0.05
# A thread waits this long at most for another thread's lease before leasing itself.
LEASE_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Limit:
    per_minute: int | None
    per_hour: int | None


def limit_for(api: str) -> Limit:
    """The share of WeCom's limits the limiter hands out for ``api``."""
    overrides = conf("SIYU_WECOM_RATE_LIMITS")
    pair = overrides.get(api) or DEFAULT_LIMITS.get(api) or overrides.get("*") \
        or DEFAULT_LIMITS["*"]
    headroom = float(conf("SIYU_WECOM_RATE_HEADROOM"))
    return Limit(*(None if n is None else max(1, int(n * headroom)) for n in pair))


def block_length(kind: str) -> timedelta:
    """How long a 45009 blocks an API: WeCom's 60 s for the minute limit, 60 min for the hour
    limit. Settings only so that tests against the simulator (whose block window is
    configurable) need not wait a real minute."""
    name = "SIYU_WECOM_HOUR_BLOCK_SECONDS" if kind == "hour" else "SIYU_WECOM_MINUTE_BLOCK_SECONDS"
    return timedelta(seconds=float(conf(name)))


def minute_start(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass
class _Local:
    """What one process holds for one (corp, API)."""

    window: datetime | None = None  # the minute the leased calls belong to
    remaining: int = 0
    lease_size: int = 1
    blocked_until: datetime | None = None
    last_block: tuple[str, datetime] | None = None  # ("minute" | "hour", until)
    leasing: bool = False  # a thread of this process is leasing from the database now


@dataclass(frozen=True)
class _Lease:
    granted: int = 0
    wait: float = 0.0
    blocked_until: datetime | None = None


class _Contended(Exception):
    """Another process changed a window between our read and our update."""


class RateLimiter:
    """One per process (``rate_limiter``); tests make several to play several processes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._leased = threading.Condition(self._lock)
        self._state: dict[tuple[int, str], _Local] = {}

    def try_take(self, corp_id: int, api: str) -> float | None:
        """In memory: 0 when a call may go now (one leased call spent), the seconds to wait
        while the API is blocked, or None when a lease is needed."""
        with self._lock:
            return self._take_locked((corp_id, api), timezone.now())

    def _take_locked(self, key, now: datetime) -> float | None:
        state = self._state.get(key)
        if state is None:
            return None
        if state.blocked_until and state.blocked_until > now:
            return _seconds_until(state.blocked_until, now)
        if state.remaining > 0 and state.window == minute_start(now):
            state.remaining -= 1
            return 0.0
        return None

    def lease(self, corp_id: int, api: str) -> float:
        """Database: spends one call, leasing a block of calls if this process has none left.
        Returns 0 when the call may go, else the seconds to wait before asking again."""
        key = (corp_id, api)
        with self._lock:
            # One lease at a time per API in a process: threads that ran out together wait for
            # it and share the block it brings, instead of each leasing (and racing the others'
            # compare-and-set) on its own. A waiter gives up waiting after LEASE_WAIT_SECONDS.
            waited_until = time.monotonic() + LEASE_WAIT_SECONDS
            while True:
                now = timezone.now()
                taken = self._take_locked(key, now)
                if taken is not None:
                    return taken
                state = self._state.setdefault(key, _Local())
                if not state.leasing or time.monotonic() >= waited_until:
                    break
                self._leased.wait(max(0.0, waited_until - time.monotonic()))
            window = minute_start(now)
            # Doubling within a minute, halving at the next: the lease follows the call rate.
            size = state.lease_size * 2 if state.window == window else state.lease_size // 2
            size = max(1, min(size, int(conf("SIYU_WECOM_RATE_LEASE"))))
            state.leasing = True
        # No Python lock while the database is used: a thread holding SQLite's write lock could
        # otherwise wait for this lock while we wait for its write lock.
        try:
            lease = _lease_from_db(corp_id, api, limit_for(api), size, now)
        finally:
            with self._lock:
                self._state.setdefault(key, _Local()).leasing = False
                self._leased.notify_all()
        with self._lock:
            state = self._state.setdefault(key, _Local())
            if lease.blocked_until:
                kind = "hour" if lease.blocked_until - now > block_length("minute") else "minute"
                state.blocked_until, state.remaining = lease.blocked_until, 0
                state.last_block = (kind, lease.blocked_until)
            if not lease.granted:
                return lease.wait
            if state.window != window:
                state.window, state.remaining = window, 0
            state.remaining += lease.granted - 1
            state.lease_size = lease.granted
            return 0.0

    def block(self, corp_id: int, api: str, errmsg: str = "") -> datetime:
        """Database: records that WeCom answered 45009 for ``api``; returns the end of the
        block, during which no process of this corp calls the API."""
        key = (corp_id, api)
        now = timezone.now()
        with self._lock:
            state = self._state.setdefault(key, _Local())
            kind = "hour" if "hour" in (errmsg or "").lower() else "minute"
            if kind == "minute" and state.blocked_until and state.blocked_until > now:
                return state.blocked_until  # a call in flight when the block began
            if (kind == "minute" and state.last_block and state.last_block[0] == "minute"
                    and timedelta(0) <= now - state.last_block[1] < ESCALATE_WITHIN):
                kind = "hour"
            until = now + block_length(kind)
            state.blocked_until, state.remaining, state.last_block = until, 0, (kind, until)
        start = hour_start(now) if kind == "hour" else minute_start(now)
        with transaction.atomic():
            row, _created = _window_row(corp_id, api, kind, start)
            RateWindow.objects.for_corp(corp_id).filter(
                Q(blocked_until__isnull=True) | Q(blocked_until__lt=until), pk=row.pk,
            ).update(blocked_until=until)
        logger.warning("WeCom answered 45009 for %s (corp %s): calls wait until %s (%s limit).",
                       api, corp_id, until.isoformat(timespec="seconds"), kind)
        return until

    def blocked_until(self, corp_id: int, api: str) -> datetime | None:
        """Database: the end of the block on ``api``, if it is blocked now."""
        return RateWindow.objects.for_corp(corp_id).filter(
            api=api, blocked_until__gt=timezone.now()).aggregate(m=Max("blocked_until"))["m"]

    def reset(self) -> None:
        with self._lock:
            self._state.clear()

    def _after_fork(self) -> None:
        # Leased calls belong to the parent; a child spending them too would exceed the limit.
        self._lock = threading.Lock()
        self._leased = threading.Condition(self._lock)
        self._state = {}


def _seconds_until(moment: datetime, now: datetime) -> float:
    return max(0.0, (moment - now).total_seconds()) + BOUNDARY_SLACK


def _windows(now: datetime, limit: Limit):
    minute, hour = minute_start(now), hour_start(now)
    if limit.per_minute is not None:
        yield "minute", minute, limit.per_minute, minute + timedelta(minutes=1)
    if limit.per_hour is not None:
        yield "hour", hour, limit.per_hour, hour + timedelta(hours=1)


def _window_row(corp_id: int, api: str, window: str, start: datetime):
    row, created = RateWindow.objects.for_corp(corp_id).get_or_create(
        api=api, window=window, window_start=start, defaults={"corp_id": corp_id})
    if created and window == "hour":
        # Once an hour per API: drop windows nobody needs any more.
        RateWindow.objects.for_corp(corp_id).filter(
            Q(blocked_until__isnull=True) | Q(blocked_until__lt=start),
            api=api, window_start__lt=start - timedelta(hours=1),
        ).delete()
    return row, created


def _lease_from_db(corp_id: int, api: str, limit: Limit, size: int, now: datetime) -> _Lease:
    for _round in range(MAX_CAS_ROUNDS):
        try:
            return _lease_once(corp_id, api, limit, size, now)
        except _Contended:
            continue
    return _Lease(wait=0.1)


def _lease_once(corp_id: int, api: str, limit: Limit, size: int, now: datetime) -> _Lease:
    with transaction.atomic():
        blocked = RateWindow.objects.for_corp(corp_id).filter(
            api=api, blocked_until__gt=now).aggregate(m=Max("blocked_until"))["m"]
        if blocked:
            return _Lease(wait=_seconds_until(blocked, now), blocked_until=blocked)
        windows = [(_window_row(corp_id, api, name, start)[0], cap, end)
                   for name, start, cap, end in _windows(now, limit)]
        grant = min([size] + [cap - row.used for row, cap, _end in windows])
        if grant <= 0:
            ends = [end for row, cap, end in windows if row.used >= cap]
            return _Lease(wait=_seconds_until(max(ends), now))
        for row, _cap, _end in windows:
            updated = RateWindow.objects.for_corp(corp_id).filter(
                pk=row.pk, used=row.used).update(used=F("used") + grant)
            if updated != 1:
                raise _Contended  # rolls back this transaction's other window too
        return _Lease(granted=grant)


rate_limiter = RateLimiter()
os.register_at_fork(after_in_child=rate_limiter._after_fork)
