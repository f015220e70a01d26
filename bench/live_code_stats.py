"""How long the per-code statistics take on a busy channel live code.

    SIYU_VAR_DIR=/tmp/bench .venv/bin/python bench/live_code_stats.py [--adds 100000]
    SIYU_VAR_DIR=/tmp/bench bash scripts/with-postgres.sh .venv/bin/python bench/live_code_stats.py

Runs against a throwaway test database of the configured engine. Seeds one code over 10
employees with ``--adds`` add events spread over 90 days (one in five a customer adding again,
about one in six relationships ended, by the customer or the employee), plus a second code with
a tenth as many adds, then times each selector (best and median of ``--repeat`` runs, with the
number of SQL queries): the code's page for an administrator over the default 30 days and over
all 90, for a staff member (only their own adds), and the overview of every code.
BENCH_QUERIES=1 also prints each SQL query with its time.

Measured on the development machine (2 CPUs shared with other jobs, load average about 8, so
medians are noisy; SQLite WAL; PostgreSQL 15 from scripts/with-postgres.sh), default arguments:

    case (best ms / median ms)                 sqlite         postgresql
    code page, admin, 30 days (~32,000 adds)    92 / 170       101 / 159
    code page, admin, 90 days (100,000 adds)   338 / 436       142 / 150
    code page, staff_a, 90 days (own adds)      45 / 87         34 / 36
    overview, admin, 90 days (110,000 adds)    271 / 475        71 / 113

Each code page is one grouped query (China day x employee) plus the code and the employee
names. Before the single pass and the native SQLite date functions, three queries with
Django's per-row Python date functions took about 2.5 s for the 90-day SQLite case (on adds
seeded in random order, which also costs locality; the seed is now in time order).
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "siyu.settings")

EMPLOYEES = 10
DAYS = 90
BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adds", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args, connection.vendor)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def seed(world, code, adds: int, rng: random.Random, employees, now) -> None:
    """Events first (in memory), then customers, relationships and adds in bulk."""
    from siyu.acquisition.models import LiveCodeAdd
    from siyu.customers.models import Customer, FollowRelation

    corp = world.corp
    pairs: list = []  # (customer index, employee): one relationship each
    events = []
    # In time order, as callbacks insert them: rows of one day sit together on disk.
    for ago in sorted((rng.randrange(DAYS * 86400) for _ in range(adds)), reverse=True):
        again = bool(pairs) and rng.random() < 0.2
        pair = rng.randrange(len(pairs)) if again else len(pairs)
        if not again:
            pairs.append(rng.choice(employees))
        events.append((pair, now - timedelta(seconds=ago), not again))

    offset = Customer.objects.for_corp(corp).count()
    customers = Customer.objects.bulk_create(
        [Customer(corp=corp, name=f"客户{offset + n}", external_userid=f"wm{offset + n:09d}")
         for n in range(len(pairs))], batch_size=BATCH)
    latest = {}
    for pair, added_at, _new in events:
        latest[pair] = max(latest.get(pair, added_at), added_at)
    follows = []
    for pair, employee in enumerate(pairs):
        ended = rng.random() < 0.17
        deleted_at = latest[pair] + timedelta(hours=rng.expovariate(1 / 200)) if ended else None
        if deleted_at and deleted_at > now:
            deleted_at = None
        follows.append(FollowRelation(
            corp=corp, customer=customers[pair], employee=employee, added_at=latest[pair],
            deleted_at=deleted_at, state=code.state,
            deleted_by=rng.choice(("customer", "employee")) if deleted_at else ""))
    FollowRelation.objects.bulk_create(follows, batch_size=BATCH)
    LiveCodeAdd.objects.bulk_create(
        [LiveCodeAdd(corp=corp, live_code=code, customer=customers[pair], employee=pairs[pair],
                     event_key=f"{code.pk}-{i}", added_at=added_at, new_customer=new)
         for i, (pair, added_at, new) in enumerate(events)], batch_size=BATCH)


def timed(fn, repeat: int):
    from django.db import connection, reset_queries

    durations, queries = [], 0
    for _ in range(repeat):
        reset_queries()
        started = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - started)
        queries = len(connection.queries)
    return min(durations), statistics.median(durations), queries


def run(args, vendor: str) -> None:
    from django.conf import settings
    from django.utils import timezone

    from siyu.accounts.tests.factories import EmployeeFactory
    from siyu.acquisition.models import LiveCode, LiveCodeAdd, LiveCodeMember
    from siyu.acquisition.stats.selectors import day_range, live_code_stats, live_codes_stats
    from tests.fixtures import build_world

    settings.DEBUG = True  # count queries
    rng = random.Random(args.seed)
    now = timezone.now()
    world = build_world("b")
    employees = [world.employees["a"], world.employees["b"], world.employees["manager"]]
    employees += [EmployeeFactory(corp=world.corp, departments=[world.departments["east"]])
                  for _ in range(EMPLOYEES - len(employees))]
    codes = []
    for name, adds in (("busy", args.adds), ("quiet", max(args.adds // 10, 1))):
        code = LiveCode.objects.create(corp=world.corp, name=name, state=f"bench_{name}")
        for order, employee in enumerate(employees):
            LiveCodeMember.objects.create(corp=world.corp, live_code=code, employee=employee,
                                          order=order)
        codes.append((code, adds))

    started = time.perf_counter()
    for code, adds in codes:
        seed(world, code, adds, rng, employees, now)
    busy = codes[0][0]
    if vendor == "postgresql":
        from django.db import connection

        with connection.cursor() as cursor:  # what autovacuum would have done by now
            cursor.execute("ANALYZE")
    total = LiveCodeAdd.objects.for_corp(world.corp).count()
    print(f"{vendor}: seeded {total} adds ({args.adds} on the measured code) "
          f"in {time.perf_counter() - started:.1f} s")

    last_30 = day_range()
    # One day more than the seeded span: its first China day starts before the oldest add.
    last_90 = day_range(last_30.last - timedelta(days=DAYS), last_30.last)
    in_30 = LiveCodeAdd.objects.for_corp(world.corp).filter(
        live_code=busy, added_at__gte=last_30.start).count()
    cases = [
        (f"code page, admin, 30 days ({in_30} adds)",
         lambda: live_code_stats(world.admin, busy.pk, last_30)),
        (f"code page, admin, 90 days ({args.adds} adds)",
         lambda: live_code_stats(world.admin, busy.pk, last_90)),
        ("code page, staff_a, 90 days (own adds)",
         lambda: live_code_stats(world.staff_a, busy.pk, last_90)),
        ("overview, admin, 90 days (2 codes)",
         lambda: live_codes_stats(world.admin, last_90)),
    ]
    for label, fn in cases:
        best, median, queries = timed(fn, args.repeat)
        print(f"{label:<44} best {best * 1000:7.1f} ms   median {median * 1000:7.1f} ms   "
              f"{queries} queries")
        if os.environ.get("BENCH_QUERIES"):
            from django.db import connection, reset_queries
            reset_queries()
            fn()
            for query in connection.queries:
                print(f"    {query['time']} s  {query['sql'][:160]}")
    result = live_code_stats(world.admin, busy.pk, last_90)
    assert result.totals.scans == args.adds, result.totals.scans
    print(f"check: scans {result.totals.scans}, new {result.totals.new_customers}, "
          f"net {result.totals.net}, deleted {result.totals.deleted}, "
          f"retention 1/7/30 {[r.percent for r in result.totals.retention]}")


if __name__ == "__main__":
    main()
