"""The feeder: stored callbacks to the workers, in order per ordering key, a batch per job.

Ingress writes one row per callback and no job (siyu.wecom.ingress.services). Every worker runs
this lane; the one holding the ``wecom.feeder`` lease (siyu.core.leases) does, every ~100 ms:

1. read stored events (and failed ones whose retry time has come), oldest first;
2. leave out those whose ordering key (a customer, a group, the corp's tags) has an event
   queued or being dispatched: one key's events are applied one at a time, in order, so two
   worker threads never work on the same customer (and no handler finds half of another's
   writes);
3. mark the rest "queued" with one conditional UPDATE;
4. enqueue them as jobs of up to EVENTS_PER_JOB events, all events of a key in one job in
   CreateTime order (siyu.wecom.tasks.dispatch_wecom_events).

One feeder at a time (the lease) is what makes step 2 hold across processes. A job lost with
its worker leaves its events "queued"; the sweeper returns them after the dispatch lease.
"""

import threading
import time
from collections import defaultdict

from django.db.models import Q
from django.utils import timezone

from siyu.core.leases import lease_hold, this_holder
from siyu.wecom.models import WeComEvent
from siyu.wecom.tasks import dispatch_wecom_events

Status = WeComEvent.Status
LEASE_NAME = "wecom.feeder"
LEASE_SECONDS = 5.0
BATCH = 1000
EVENTS_PER_JOB = 20
IN_FLIGHT = (Status.QUEUED, Status.DISPATCHING)
# Back-pressure: no more events queued or in dispatch than this, so a queued event's job starts
# soon after (the sweeper may then take a "queued" event older than the dispatch lease for one
# whose job was lost), and a backlog waits as stored rows, not as jobs.
MAX_IN_FLIGHT = 400


def to_feed(now) -> Q:
    return (Q(status=Status.STORED) & (Q(next_attempt_at__isnull=True)
                                       | Q(next_attempt_at__lte=now))
            | Q(status=Status.FAILED, next_attempt_at__lte=now))


class _LeaseState(threading.local):
    held_until = 0.0  # time.monotonic()
    next_try = 0.0


_lease = _LeaseState()


def _holding() -> bool:
    """Whether this thread holds the feeder lease, renewed when half of it is gone; a thread
    that does not hold it asks again only after half a lease (on SQLite every ask is a write)."""
    now = time.monotonic()
    if now < _lease.held_until - LEASE_SECONDS / 2:
        return True
    if now < _lease.next_try:
        return False
    if lease_hold(LEASE_NAME, this_holder(), LEASE_SECONDS):
        _lease.held_until = now + LEASE_SECONDS
        return True
    _lease.held_until, _lease.next_try = 0.0, now + LEASE_SECONDS / 2
    return False


def feed(*, limit: int = BATCH) -> int:
    """One round, if this thread holds the feeder lease; returns how many events it queued."""
    if not _holding():
        return 0
    now = timezone.now()
    events = WeComEvent.objects.unscoped()
    room = MAX_IN_FLIGHT - events.filter(status__in=IN_FLIGHT).count()
    if room <= 0:
        return 0
    rows = list(events.filter(to_feed(now)).order_by("id")
                .values_list("pk", "corp_id", "ordering_key", "create_time")[:min(limit, room)])
    if not rows:
        return 0
    busy = _busy_keys(rows)
    chosen = [r for r in rows if not r[2] or (r[1], r[2]) not in busy]
    if not chosen:
        return 0
    # claimed_at marks this round's rows: the UPDATE is conditional on their status, so an event
    # an admin or the sweeper changed meanwhile is left alone.
    events.filter(to_feed(now), pk__in=[r[0] for r in chosen]).update(
        status=Status.QUEUED, claimed_at=now)
    queued = set(events.filter(pk__in=[r[0] for r in chosen], status=Status.QUEUED,
                               claimed_at=now).values_list("pk", flat=True))
    _enqueue([r for r in chosen if r[0] in queued])
    return len(queued)


def _busy_keys(rows) -> set[tuple[int, str]]:
    keys = {r[2] for r in rows if r[2]}
    if not keys:
        return set()
    return set(WeComEvent.objects.unscoped()
               .filter(status__in=IN_FLIGHT, ordering_key__in=keys)
               .values_list("corp_id", "ordering_key"))


def _enqueue(rows) -> None:
    """Jobs of up to EVENTS_PER_JOB events; a key's events stay together, in CreateTime order
    (one key's events may make a job longer than that)."""
    by_key: dict[tuple, list] = defaultdict(list)
    for pk, corp_id, key, create_time in rows:
        by_key[(corp_id, key or f"#{pk}")].append((create_time, pk))
    jobs: dict[int, list[list[int]]] = defaultdict(lambda: [[]])
    for (corp_id, _key), items in by_key.items():
        ids = [pk for _time, pk in sorted(items)]
        current = jobs[corp_id][-1]
        if current and len(current) + len(ids) > EVENTS_PER_JOB:
            jobs[corp_id].append(current := [])
        current.extend(ids)
    for corp_id, batches in jobs.items():
        for ids in batches:
            if ids:
                dispatch_wecom_events.enqueue(event_ids=ids, corp_id=corp_id)


def run_feeder_round() -> int:
    """The lane hook (registered in WecomConfig.ready)."""
    return feed()
