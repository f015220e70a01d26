"""Counters behind caps and round-robin: per China day, per employee, never lost."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from siyu.acquisition.live_codes.rotation import (
    assignment_for_members,
    members_from_rows,
    record_assignment,
    today_counts,
)
from siyu.acquisition.models import LiveCode, LiveCodeDailyCount, LiveCodeRotation


@pytest.fixture
def live_code(world):
    return LiveCode.objects.create(corp=world.corp, name="c", state="lc_c", mode="round_robin")


def test_counts_per_china_day(world, live_code):
    a = world.employees["a"]
    late_utc = datetime(2026, 11, 20, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    next_day = datetime(2026, 11, 20, 16, 1, tzinfo=UTC)  # 00:01 the next day there
    assert record_assignment(live_code=live_code, employee_id=a.pk, now=late_utc) == 1
    assert record_assignment(live_code=live_code, employee_id=a.pk, now=late_utc) == 2
    assert record_assignment(live_code=live_code, employee_id=a.pk, now=next_day) == 1
    assert today_counts(live_code, now=late_utc) == {a.pk: 2}
    assert today_counts(live_code, now=next_day) == {a.pk: 1}
    assert LiveCodeRotation.objects.for_corp(world.corp).get(live_code=live_code).position == 3


def test_caps_and_rotation_read_from_the_counters(world, live_code):
    from siyu.acquisition.models import LiveCodeMember
    now = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    a, b = world.employees["a"], world.employees["b"]
    LiveCodeMember.objects.create(corp=world.corp, live_code=live_code, employee=a,
                                  daily_cap=1, order=0)
    LiveCodeMember.objects.create(corp=world.corp, live_code=live_code, employee=b, order=1)
    members = members_from_rows(world.corp, live_code)
    first = assignment_for_members(world.corp, members, "round_robin", now=now,
                                   live_code=live_code)
    assert first.userids == (a.userid,)
    record_assignment(live_code=live_code, employee_id=a.pk, now=now)
    # a is capped for today: b takes every turn.
    second = assignment_for_members(world.corp, members, "round_robin", now=now,
                                    live_code=live_code)
    assert second.userids == (b.userid,)


def test_department_members_expand_to_the_subtree(world, live_code):
    from siyu.acquisition.models import LiveCodeMember
    LiveCodeMember.objects.create(corp=world.corp, live_code=live_code,
                                  department=world.departments["sales"])
    members = members_from_rows(world.corp, live_code)
    result = assignment_for_members(world.corp, members, "random",
                                    now=datetime(2026, 11, 20, 4, tzinfo=UTC))
    assert set(result.userids) == {world.employees["manager"].userid,
                                   world.employees["a"].userid}


@pytest.mark.django_db(transaction=True)
def test_concurrent_increments_are_not_lost(world, live_code):
    a = world.employees["a"]
    now = datetime(2026, 11, 20, 4, tzinfo=UTC)
    errors = []

    def bump():
        try:
            for _ in range(5):
                record_assignment(live_code=live_code, employee_id=a.pk, now=now)
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    row = LiveCodeDailyCount.objects.for_corp(world.corp).get(live_code=live_code)
    assert row.count == 20
