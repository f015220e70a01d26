"""Contact ways re-pointed by the clock: the next refresh time of a code (slot edges, China
midnight for daily caps), and the periodic hook that re-points due codes once."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from siyu.acquisition.live_codes import assignment
from siyu.acquisition.live_codes.assignment import CHINA, Member, Slot
from siyu.acquisition.live_codes.schedule import RETRY_AFTER, live_codes_refresh_due
from siyu.acquisition.live_codes.services import live_code_create
from siyu.acquisition.live_codes.tests.test_services import admin, corp, people, sim, ways  # noqa: F401
from siyu.acquisition.models import LiveCode

FRI_NIGHT = Slot(frozenset({4}), time(22, 0), time(2, 0))


def at(day, hour, minute=0):
    # 2026-11-20 is a Friday.
    return datetime(2026, 11, day, hour, minute, tzinfo=CHINA)


@pytest.mark.parametrize(("now", "expected"), [
    (at(20, 21), at(20, 22)),          # before Friday's slot: its start
    (at(20, 23), at(21, 2)),           # inside, past midnight: its end on Saturday
    (at(21, 3), at(27, 22)),           # after: next Friday
])
def test_time_slot_codes_refresh_at_slot_edges(now, expected):
    members = [Member((), slots=(FRI_NIGHT,))]
    assert assignment.next_refresh(members, "time_slot", now) == expected


def test_daily_caps_start_over_at_china_midnight():
    members = [Member((), daily_cap=20)]
    # 23:30 UTC on the 20th is already 07:30 on the 21st in China.
    now = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert assignment.next_refresh(members, "random", now) == at(22, 0)
    assert assignment.next_refresh([Member((), daily_cap=5, slots=(FRI_NIGHT,))], "time_slot",
                                   at(20, 21)) == at(20, 22)


def test_codes_without_caps_or_slots_wait_for_adds_only():
    assert assignment.next_refresh([Member(())], "random", at(20, 9)) is None
    assert assignment.next_refresh([Member((), slots=(FRI_NIGHT,))], "round_robin",
                                   at(20, 9)) is None


def slot(start, end):
    return {"weekdays": list(range(7)), "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M")}


def test_due_code_is_re_pointed_once_at_the_slot_edge(corp, admin, people, sim):  # noqa: F811
    local = timezone.now().astimezone(CHINA).replace(second=0, microsecond=0)
    edge = local + timedelta(hours=1)
    code = live_code_create(
        corp=corp, actor=admin, name="Shifts", mode="time_slot",
        members=[{"employee_id": people[0].pk, "slots": [slot(local - timedelta(hours=1),
                                                               edge.time())]},
                 {"employee_id": people[1].pk, "slots": [slot(edge, edge + timedelta(hours=2))]}])
    assert ways(sim)[code.wecom_config_id]["user"] == [people[0].userid]
    assert code.next_refresh_at == edge

    assert live_codes_refresh_due(now=edge - timedelta(seconds=1)) == 0
    assert live_codes_refresh_due(now=edge + timedelta(seconds=5)) == 1
    assert ways(sim)[code.wecom_config_id]["user"] == [people[1].userid]
    code.refresh_from_db()
    assert code.next_refresh_at == edge + timedelta(hours=2)
    # Another worker running the hook at the same moment finds nothing due.
    assert live_codes_refresh_due(now=edge + timedelta(seconds=5)) == 0


def test_a_refresh_wecom_refuses_is_tried_again_soon(corp, admin, people, sim):  # noqa: F811
    local = timezone.now().astimezone(CHINA).replace(second=0, microsecond=0)
    edge = local + timedelta(hours=1)
    code = live_code_create(
        corp=corp, actor=admin, name="Shifts", mode="time_slot",
        members=[{"employee_id": people[0].pk, "slots": [slot(local, edge.time())]},
                 {"employee_id": people[1].pk, "slots": [slot(edge, edge + timedelta(hours=2))]}])
    sim.control.inject_faults(api="externalcontact/update_contact_way", errcode=60111, count=1)
    try:
        assert live_codes_refresh_due(now=edge) == 0
    finally:
        sim.control.clear_faults()
    code = LiveCode.objects.for_corp(corp).get(pk=code.pk)
    assert code.next_refresh_at == edge + RETRY_AFTER
    assert live_codes_refresh_due(now=edge + RETRY_AFTER) == 1
    assert ways(sim)[code.wecom_config_id]["user"] == [people[1].userid]
