"""The overview's numbers (customer selectors added for it): scope-aware, in local days."""

import datetime

import pytest
import time_machine

from siyu.customers.models import FollowRelation
from siyu.customers.selectors import (
    customer_channel_breakdown,
    customer_counts,
    customer_daily_adds,
)
from siyu.customers.tests.factories import CustomerFactory, FollowFactory

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def at(y, m, d, hh, mm=0):
    return datetime.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def move(follow, added_at, deleted_at=None):
    FollowRelation.objects.for_corp(follow.corp_id).filter(pk=follow.pk).update(
        added_at=added_at, deleted_at=deleted_at)


@pytest.fixture
def history(world, other_world):
    """Adds on 03-09 23:50 and 03-10 00:10 Shanghai time: the same UTC day, different local
    days. "Now" is 03-10 12:00 in Shanghai."""
    emp_a = world.employees["a"]
    follows = {f.customer.name: f for f in FollowRelation.objects.for_corp(world.corp)
               .select_related("customer")}
    move(follows["x客户A1"], at(2024, 3, 9, 23, 50))
    move(follows["x客户A2"], at(2024, 3, 10, 0, 10))
    move(follows["x客户B1"], at(2024, 2, 1, 9), deleted_at=at(2024, 3, 8, 10))
    move(follows["x客户M1"], at(2024, 1, 5, 9))
    late = FollowFactory(corp=world.corp, customer=CustomerFactory(corp=world.corp),
                         employee=emp_a, state="")
    move(late, at(2024, 3, 10, 11))
    for f in FollowRelation.objects.for_corp(other_world.corp):
        move(f, at(2024, 3, 10, 9))
    with time_machine.travel(at(2024, 3, 10, 12), tick=False):
        yield world


def test_daily_adds_use_local_days(history):
    days = dict(customer_daily_adds(history.admin, days=7))
    assert len(days) == 7
    assert min(days) == datetime.date(2024, 3, 4) and max(days) == datetime.date(2024, 3, 10)
    assert days[datetime.date(2024, 3, 9)] == 1
    assert days[datetime.date(2024, 3, 10)] == 2  # A2 at 00:10 and the new one; no other corp
    assert sum(days.values()) == 3


def test_daily_adds_follow_the_scope(history):
    assert sum(n for _d, n in customer_daily_adds(history.staff_b, days=30)) == 0
    assert sum(n for _d, n in customer_daily_adds(history.staff_a, days=30)) == 3
    assert sum(n for _d, n in customer_daily_adds(history.manager, days=90)) == 4


def test_counts_added_lost_and_net(history):
    counts = customer_counts(history.admin, days=7)
    # B1's relationship ended, so B1 is no longer a customer anyone follows, yet the
    # Customer row stays (history is kept).
    assert counts == {"total": 5, "added": 3, "lost": 1, "net": 2, "days": 7}
    assert customer_counts(history.staff_b, days=7) == {
        "total": 0, "added": 0, "lost": 1, "net": -1, "days": 7}
    assert customer_counts(history.staff_a, days=7)["total"] == 3


def test_channel_breakdown_counts_current_customers_by_state(history):
    rows, other = customer_channel_breakdown(history.admin)
    assert dict(rows) == {"channel_a": 2, "channel_m": 1, "": 1}
    assert other == 0
    rows, other = customer_channel_breakdown(history.admin, limit=1)
    assert rows == [("channel_a", 2)] and other == 2
    assert dict(customer_channel_breakdown(history.staff_a)[0]) == {"channel_a": 2, "": 1}


def test_dashboard_numbers_need_a_corp_user(world):
    from siyu.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        customer_counts(None)
