"""The pure assignment rules: modes, duty hours across midnight, daily caps, backups."""

from datetime import datetime, time

import pytest

from siyu.acquisition.live_codes.assignment import (
    CHINA,
    RANDOM,
    ROUND_ROBIN,
    TIME_SLOT,
    Member,
    Person,
    Slot,
    assign,
    china_day,
    next_change,
)

ALICE, BOB, CAROL, DAVE = (Person(1, "alice"), Person(2, "bob"), Person(3, "carol"),
                           Person(4, "dave"))
GONE = Person(9, "gone", active=False)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    # 2026-11-16 is a Monday.
    return datetime(2026, 11, 16 + day, hour, minute, tzinfo=CHINA)


def member(*people, cap=None, backup=False, order=0, slots=()):
    return Member(tuple(people), daily_cap=cap, is_backup=backup, order=order, slots=slots)


@pytest.mark.parametrize("mode", [RANDOM, TIME_SLOT])
def test_random_and_time_slot_list_every_eligible_employee(mode):
    always = (Slot(frozenset(range(7)), time(0), time(0)),)
    members = [member(BOB, order=2, slots=always), member(ALICE, order=1, slots=always)]
    assert assign(members, mode, now=at(MON, 10)).userids == ("alice", "bob")


@pytest.mark.parametrize(("rotation", "expected"),
                         [(0, "alice"), (1, "bob"), (2, "carol"), (3, "alice"), (10, "bob")])
def test_round_robin_takes_turns(rotation, expected):
    members = [member(ALICE, order=0), member(BOB, order=1), member(CAROL, order=2)]
    assert assign(members, ROUND_ROBIN, now=at(MON, 10), rotation=rotation).userids == (expected,)


def test_round_robin_skips_capped_employees():
    members = [member(ALICE, cap=1), member(BOB, order=1), member(CAROL, order=2)]
    result = assign(members, ROUND_ROBIN, now=at(MON, 10), counts={1: 1}, rotation=0)
    assert result.userids == ("bob",)


FRI_NIGHT = Slot(frozenset({FRI}), time(22), time(2))
WEEKDAY_DAY = Slot(frozenset({MON, TUE, WED, THU, FRI}), time(9), time(18))


@pytest.mark.parametrize(("moment", "on_duty"), [
    (at(FRI, 21, 59), False),
    (at(FRI, 22, 0), True),
    (at(FRI, 23, 30), True),
    (at(SAT, 1, 0), True),   # Fri 22:00–02:00 covers Saturday 01:00
    (at(SAT, 1, 59), True),
    (at(SAT, 2, 0), False),  # the end is exclusive
    (at(SAT, 22, 30), False),  # Saturday is not a listed day
    (at(FRI, 1, 0), False),  # Thursday night is not listed
])
def test_slot_across_midnight(moment, on_duty):
    assert FRI_NIGHT.covers(moment) is on_duty


@pytest.mark.parametrize(("moment", "on_duty"), [
    (at(MON, 8, 59), False), (at(MON, 9), True), (at(WED, 17, 59), True),
    (at(FRI, 18), False), (at(SAT, 10), False), (at(SUN, 12), False),
])
def test_slot_within_a_day(moment, on_duty):
    assert WEEKDAY_DAY.covers(moment) is on_duty


def test_slot_with_equal_start_and_end_is_a_full_day():
    slot = Slot(frozenset({MON}), time(8), time(8))
    assert slot.covers(at(MON, 8)) and slot.covers(at(TUE, 7, 59))
    assert not slot.covers(at(TUE, 8)) and not slot.covers(at(MON, 7, 59))


def test_slots_are_read_in_china_time():
    from datetime import UTC
    # Friday 15:00 UTC is Friday 23:00 in Shanghai.
    assert FRI_NIGHT.covers(datetime(2026, 11, 20, 15, 0, tzinfo=UTC))
    assert china_day(datetime(2026, 11, 20, 17, 0, tzinfo=UTC)).isoformat() == "2026-11-21"


@pytest.mark.parametrize(("moment", "expected", "backup"), [
    (at(MON, 10), ("alice",), False),
    (at(FRI, 23), ("bob",), False),
    (at(SAT, 1), ("bob",), False),
    (at(SAT, 12), ("dave",), True),  # nobody on duty → backup
])
def test_time_slot_mode_uses_duty_hours_then_backups(moment, expected, backup):
    members = [member(ALICE, slots=(WEEKDAY_DAY,)), member(BOB, order=1, slots=(FRI_NIGHT,)),
               member(DAVE, backup=True, order=2)]
    result = assign(members, TIME_SLOT, now=moment)
    assert result.userids == expected
    assert result.used_backup is backup


@pytest.mark.parametrize(("counts", "expected", "backup"), [
    ({}, ("alice", "bob"), False),
    ({1: 2}, ("bob",), False),
    ({1: 2, 2: 3}, ("dave",), True),
    ({1: 5, 2: 5, 4: 0}, ("dave",), True),
])
def test_daily_caps_then_backups(counts, expected, backup):
    members = [member(ALICE, cap=2), member(BOB, cap=3, order=1),
               member(DAVE, backup=True, order=2)]
    result = assign(members, RANDOM, now=at(MON, 10), counts=counts)
    assert (result.userids, result.used_backup) == (expected, backup)


def test_capped_backups_leave_nobody_with_a_reason():
    members = [member(ALICE, cap=1), member(DAVE, cap=1, backup=True)]
    result = assign(members, RANDOM, now=at(MON, 10), counts={1: 1, 4: 1})
    assert result.userids == ()
    assert result.reason == "all_capped_or_off_duty"


def test_no_cap_means_unlimited():
    assert assign([member(ALICE)], RANDOM, now=at(MON, 10), counts={1: 10_000}).userids == (
        "alice",)


def test_backups_are_not_listed_while_primaries_are_eligible():
    members = [member(ALICE), member(DAVE, backup=True)]
    assert assign(members, RANDOM, now=at(MON, 10)).userids == ("alice",)


@pytest.mark.parametrize("mode", [RANDOM, ROUND_ROBIN, TIME_SLOT])
def test_resigned_employees_are_never_assigned(mode):
    always = (Slot(frozenset(range(7)), time(0), time(0)),)
    members = [member(GONE, slots=always), member(DAVE, backup=True, order=1)]
    result = assign(members, mode, now=at(MON, 10))
    assert result.userids == ("dave",)
    assert result.used_backup


def test_department_members_expand_and_dedupe_under_the_first_cap():
    team = member(ALICE, GONE, BOB, cap=1, order=1)
    direct_bob = member(BOB, order=0)  # listed first, uncapped
    result = assign([team, direct_bob], RANDOM, now=at(MON, 10), counts={1: 1, 2: 7})
    assert result.userids == ("bob",)


def test_round_robin_over_a_department():
    team = member(ALICE, BOB, CAROL)
    turns = [assign([team], ROUND_ROBIN, now=at(MON, 10), rotation=i).userids[0]
             for i in range(4)]
    assert turns == ["alice", "bob", "carol", "alice"]


def test_empty_code_has_nobody():
    assert assign([], RANDOM, now=at(MON, 10)).reason == "all_capped_or_off_duty"


def test_naive_now_and_unknown_mode_are_refused():
    with pytest.raises(ValueError):
        assign([member(ALICE)], RANDOM, now=datetime(2026, 11, 16, 10))
    with pytest.raises(ValueError):
        assign([member(ALICE)], "lottery", now=at(MON, 10))


def test_next_change_is_the_next_slot_edge():
    assert next_change([FRI_NIGHT, WEEKDAY_DAY], at(FRI, 19)) == at(FRI, 22)
    assert next_change([FRI_NIGHT], at(FRI, 23)) == at(SAT, 2)
    assert next_change([], at(MON, 1)) is None
