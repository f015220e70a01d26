"""Per-code statistics selectors: every definition on hand-built adds, the retention and China
day boundaries, and who sees which adds (cross-role, cross-tenant)."""

import datetime

import pytest

from siyu.acquisition.live_codes.assignment import CHINA
from siyu.acquisition.stats.selectors import DayRange, day_range, live_code_stats, live_codes_stats
from siyu.acquisition.stats.tests.factories import add, live_code
from siyu.core.errors import NotFound, ValidationFailed

NOW = datetime.datetime(2025, 3, 31, 12, 0, tzinfo=CHINA)
MARCH = DayRange(datetime.date(2025, 1, 1), datetime.date(2025, 3, 31))
DAY = datetime.timedelta(days=1)


def at(day, hour=10, minute=0, second=0):
    return datetime.datetime(2025, 3, day, hour, minute, second, tzinfo=CHINA)


def stats(actor, code, day_range=MARCH):
    return live_code_stats(actor, code.pk, day_range, now=NOW)


def by_employee(result):
    return {row.employee_id: row.measures for row in result.employees}


def by_day(result):
    return {row.day: row.measures for row in result.days}


@pytest.fixture
def shared_code(world):
    """A code over staff_a, staff_b and the manager."""
    emp = world.employees
    return live_code(world, "shared", [emp["a"], emp["b"], emp["manager"]])


# --- definitions -----------------------------------------------------------------------

def test_scans_new_net_and_deletions_by_who(world, shared_code):
    a, b = world.employees["a"], world.employees["b"]
    add(shared_code, a, at(10))                                   # stands
    add(shared_code, a, at(10), deleted_at=at(12), deleted_by="customer")
    add(shared_code, b, at(11), deleted_at=at(11, 18), deleted_by="employee")
    add(shared_code, b, at(11), new_customer=False)               # known customer, stands
    add(shared_code, a, at(12), relation=False)                   # relationship never recorded

    totals = stats(world.admin, shared_code).totals
    assert totals.scans == 5
    assert totals.new_customers == 4
    assert totals.net == 2
    assert totals.deleted == 2
    assert (totals.deleted_by_customer, totals.deleted_by_employee) == (1, 1)

    rows = by_employee(stats(world.admin, shared_code))
    assert (rows[a.pk].scans, rows[a.pk].net, rows[a.pk].deleted_by_customer) == (3, 1, 1)
    assert (rows[b.pk].scans, rows[b.pk].net, rows[b.pk].deleted_by_employee) == (2, 1, 1)


def test_a_customer_who_adds_again_counts_as_two_scans_one_new_customer(world, shared_code):
    a = world.employees["a"]
    customer = add(shared_code, a, at(3), deleted_at=at(5), deleted_by="customer")
    add(shared_code, a, at(8), customer=customer, new_customer=False)

    totals = stats(world.admin, shared_code).totals
    assert (totals.scans, totals.new_customers) == (2, 1)
    # The relationship stands again now, and it is the only state Siyu keeps.
    assert (totals.net, totals.deleted) == (2, 0)


def test_relationship_with_another_employee_is_not_the_adds_relationship(world, shared_code):
    a, b = world.employees["a"], world.employees["b"]
    customer = add(shared_code, a, at(10), deleted_at=at(11), deleted_by="customer")
    # The same customer still follows b, outside this code: a's add is still deleted.
    add(live_code(world, "other", [b]), b, at(10), customer=customer)

    totals = stats(world.admin, shared_code).totals
    assert (totals.scans, totals.net, totals.deleted) == (1, 0, 1)


def test_expired_or_disabled_scans_are_counted_and_reported(world, shared_code):
    add(shared_code, world.employees["a"], at(10), code_inactive=True)
    add(shared_code, world.employees["a"], at(10))
    totals = stats(world.admin, shared_code).totals
    assert (totals.scans, totals.inactive) == (2, 1)


def test_per_day_series_counts_adds_by_add_day_with_their_fate(world, shared_code):
    a = world.employees["a"]
    add(shared_code, a, at(20))
    add(shared_code, a, at(20), deleted_at=at(25), deleted_by="employee")
    add(shared_code, a, at(22), new_customer=False)

    result = stats(world.admin, shared_code, DayRange(datetime.date(2025, 3, 19),
                                                      datetime.date(2025, 3, 23)))
    assert [row.day.day for row in result.days] == [19, 20, 21, 22, 23]
    days = by_day(result)
    day20, day22 = days[datetime.date(2025, 3, 20)], days[datetime.date(2025, 3, 22)]
    assert (day20.scans, day20.new_customers, day20.deleted, day20.net) == (2, 2, 1, 1)
    assert (day22.scans, day22.new_customers, day22.deleted, day22.net) == (1, 0, 0, 1)
    # The deletion on the 25th is outside the range: it shows on the day of the add.
    assert days[datetime.date(2025, 3, 21)].scans == 0
    assert days[datetime.date(2025, 3, 23)].scans == 0


# --- retention -------------------------------------------------------------------------

def test_retention_boundaries_at_exactly_n_days(world, shared_code):
    a = world.employees["a"]
    old = NOW - 40 * DAY
    # Ended exactly at the 1-day mark: did not last a day.
    add(shared_code, a, old, deleted_at=old + DAY, deleted_by="customer")
    # Ended one second after the mark: lasted a day, not 7.
    add(shared_code, a, old, deleted_at=old + DAY + datetime.timedelta(seconds=1),
        deleted_by="customer")
    # Ended after 7 days and one second: lasted 1 and 7 days, not 30.
    add(shared_code, a, old, deleted_at=old + 7 * DAY + datetime.timedelta(seconds=1),
        deleted_by="employee")
    # Still standing.
    add(shared_code, a, old)

    retention = {r.days: r for r in stats(world.admin, shared_code).totals.retention}
    assert (retention[1].eligible, retention[1].retained) == (4, 3)
    assert (retention[7].eligible, retention[7].retained) == (4, 2)
    assert (retention[30].eligible, retention[30].retained) == (4, 1)
    assert retention[1].percent == 75.0
    assert retention[30].rate == 0.25


def test_retention_only_counts_adds_at_least_n_days_old(world, shared_code):
    a = world.employees["a"]
    add(shared_code, a, NOW - DAY)                                   # exactly one day old
    add(shared_code, a, NOW - DAY + datetime.timedelta(seconds=1))   # one second too young
    add(shared_code, a, NOW - 7 * DAY, deleted_at=NOW - DAY, deleted_by="customer")

    retention = {r.days: r for r in stats(world.admin, shared_code).totals.retention}
    assert (retention[1].eligible, retention[1].retained) == (2, 2)
    # Ended after six days: not retained at seven.
    assert (retention[7].eligible, retention[7].retained) == (1, 0)
    assert (retention[30].eligible, retention[30].retained) == (0, 0)
    assert retention[30].percent is None


def test_relationship_ended_before_the_add_was_recorded_is_not_retained(world, shared_code):
    # Out-of-order callbacks can leave a deletion stamped before the add.
    add(shared_code, world.employees["a"], NOW - 10 * DAY, deleted_at=NOW - 11 * DAY,
        deleted_by="customer")
    retention = {r.days: r for r in stats(world.admin, shared_code).totals.retention}
    assert (retention[1].eligible, retention[1].retained) == (1, 0)


def test_retention_per_employee(world, shared_code):
    a, b = world.employees["a"], world.employees["b"]
    add(shared_code, a, NOW - 10 * DAY)
    add(shared_code, b, NOW - 10 * DAY, deleted_at=NOW - 9 * DAY + datetime.timedelta(hours=1),
        deleted_by="customer")
    rows = by_employee(stats(world.admin, shared_code))
    assert rows[a.pk].retention_at(7).percent == 100.0
    assert rows[b.pk].retention_at(1).percent == 100.0
    assert rows[b.pk].retention_at(7).percent == 0.0


# --- China days ------------------------------------------------------------------------

def test_days_are_china_days_whatever_the_server_time_zone(world, shared_code, settings):
    settings.TIME_ZONE = "UTC"
    a = world.employees["a"]
    # 2025-03-10 23:59:59 and 2025-03-11 00:00:00 in Shanghai (15:59:59 / 16:00:00 UTC).
    add(shared_code, a, datetime.datetime(2025, 3, 10, 15, 59, 59, tzinfo=datetime.UTC))
    add(shared_code, a, datetime.datetime(2025, 3, 10, 16, 0, 0, tzinfo=datetime.UTC))
    add(shared_code, a, datetime.datetime(2025, 3, 11, 15, 59, 59, tzinfo=datetime.UTC))

    both = stats(world.admin, shared_code, DayRange(datetime.date(2025, 3, 10),
                                                    datetime.date(2025, 3, 11)))
    assert [(row.day.day, row.measures.scans) for row in both.days] == [(10, 1), (11, 2)]

    tenth = stats(world.admin, shared_code, DayRange(datetime.date(2025, 3, 10),
                                                     datetime.date(2025, 3, 10)))
    eleventh = stats(world.admin, shared_code, DayRange(datetime.date(2025, 3, 11),
                                                        datetime.date(2025, 3, 11)))
    assert (tenth.totals.scans, eleventh.totals.scans) == (1, 2)


def test_default_range_is_the_last_30_china_days():
    # 2025-03-31 17:00 UTC is already April 1st in Shanghai.
    now = datetime.datetime(2025, 3, 31, 17, 0, tzinfo=datetime.UTC)
    selected = day_range(now=now)
    assert (selected.first, selected.last) == (datetime.date(2025, 3, 3),
                                               datetime.date(2025, 4, 1))
    assert len(selected.days) == 30
    assert selected.start == datetime.datetime(2025, 3, 3, tzinfo=CHINA)
    assert selected.end == datetime.datetime(2025, 4, 2, tzinfo=CHINA)


def test_range_with_only_a_start_runs_30_days_or_to_today():
    first = datetime.date(2025, 1, 1)
    assert day_range(first, now=NOW).last == datetime.date(2025, 1, 30)
    assert day_range(datetime.date(2025, 3, 20), now=NOW).last == datetime.date(2025, 3, 31)
    assert day_range(last=datetime.date(2025, 2, 28), now=NOW).first == datetime.date(2025, 1, 30)


def test_range_errors_name_the_field():
    with pytest.raises(ValidationFailed) as reversed_range:
        day_range(datetime.date(2025, 3, 5), datetime.date(2025, 3, 4), now=NOW)
    assert "date_to" in reversed_range.value.field_errors
    with pytest.raises(ValidationFailed) as too_long:
        day_range(datetime.date(2023, 1, 1), datetime.date(2025, 3, 4), now=NOW)
    assert "date_from" in too_long.value.field_errors


# --- scoping ---------------------------------------------------------------------------

@pytest.fixture
def shared_adds(world, shared_code):
    emp = world.employees
    for _ in range(3):
        add(shared_code, emp["a"], at(10))
    add(shared_code, emp["a"], at(11), deleted_at=at(12), deleted_by="customer")
    for _ in range(2):
        add(shared_code, emp["b"], at(10))
    add(shared_code, emp["manager"], at(12))
    return shared_code


@pytest.mark.parametrize(("user", "scans", "net", "employees"), [
    ("admin", 7, 6, {"a": 4, "b": 2, "manager": 1}),
    ("manager", 5, 4, {"a": 4, "manager": 1}),   # 销售部 subtree: the manager and staff_a
    ("staff_a", 4, 3, {"a": 4}),
    ("staff_b", 2, 2, {"b": 2}),
])
def test_each_role_counts_only_the_adds_it_may_see(world, shared_adds, user, scans, net,
                                                     employees):
    result = stats(getattr(world, user), shared_adds)
    assert (result.totals.scans, result.totals.net) == (scans, net)
    assert sum(row.measures.scans for row in result.days) == scans
    expected = {world.employees[key].pk: n for key, n in employees.items()}
    assert {row.employee_id: row.measures.scans for row in result.employees} == expected


def test_staff_cannot_open_a_code_they_are_not_on(world, shared_adds):
    only_b = live_code(world, "only_b", [world.employees["b"]])
    add(only_b, world.employees["b"], at(10))
    with pytest.raises(NotFound):
        stats(world.staff_a, only_b)
    assert stats(world.staff_b, only_b).totals.scans == 1


def test_another_enterprises_code_is_not_found(world, other_world):
    foreign = live_code(other_world, "foreign", [other_world.employees["a"]])
    add(foreign, other_world.employees["a"], at(10))
    for actor in (world.admin, world.manager, world.staff_a):
        with pytest.raises(NotFound):
            stats(actor, foreign)
    assert stats(other_world.admin, foreign).totals.scans == 1


@pytest.mark.parametrize(("user", "expected"), [
    ("admin", {"shared": 7, "only_b": 1, "quiet": 0}),
    ("manager", {"shared": 5, "only_b": 0, "quiet": 0}),
    ("staff_a", {"shared": 4, "quiet": 0}),
    ("staff_b", {"shared": 2, "only_b": 1}),
])
def test_overview_lists_visible_codes_with_visible_adds(world, other_world, shared_adds, user,
                                                         expected):
    only_b = live_code(world, "only_b", [world.employees["b"]])
    add(only_b, world.employees["b"], at(10))
    live_code(world, "quiet", [world.employees["a"]])
    foreign = live_code(other_world, "foreign", [other_world.employees["a"]])
    add(foreign, other_world.employees["a"], at(10))

    rows = live_codes_stats(getattr(world, user), MARCH, now=NOW)
    assert {row.live_code.name: row.measures.scans for row in rows} == expected
    assert [row.measures.scans for row in rows] == sorted(
        (row.measures.scans for row in rows), reverse=True)
