"""Database side of assignment: load members, today's counts and the round-robin position
for :func:`siyu.acquisition.live_codes.assignment.assign`, and bump the counters safely across
processes (get-or-create, then a single ``UPDATE ... SET count = count + 1``)."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from siyu.accounts.models import Employee
from siyu.acquisition.live_codes import assignment
from siyu.acquisition.models import LiveCodeDailyCount, LiveCodeRotation


def _people_of_department(corp, department) -> tuple[assignment.Person, ...]:
    # The department's subtree, as WeCom's party does; resigned employees are filtered by
    # assign() so they still dedupe correctly.
    employees = (Employee.objects.for_corp(corp)
                 .filter(Q(departments__path__startswith=department.path))
                 .distinct().order_by("id"))
    return tuple(assignment.Person(e.id, e.userid, e.is_active) for e in employees)


def _slots(raw_slots) -> tuple[assignment.Slot, ...]:
    return tuple(assignment.Slot(frozenset(s["weekdays"]), s["start_time"], s["end_time"])
                 for s in raw_slots)


def members_from_rows(corp, live_code) -> list[dict]:
    """A stored code's members in the shape services validate (employee/department objects)."""
    rows = live_code.members.select_related("employee", "department").prefetch_related(
        "time_slots")
    return [{"employee": r.employee, "department": r.department, "daily_cap": r.daily_cap,
             "is_backup": r.is_backup, "order": r.order,
             "slots": [{"weekdays": s.weekdays, "start_time": s.start_time,
                        "end_time": s.end_time} for s in r.time_slots.all()]}
            for r in rows]


def next_refresh_at(members: list[dict], mode: str, *, now: datetime) -> datetime | None:
    """See assignment.next_refresh; departments need no expansion for the clock."""
    specs = [assignment.Member((), daily_cap=m["daily_cap"], is_backup=m["is_backup"],
                               order=m["order"], slots=_slots(m["slots"])) for m in members]
    return assignment.next_refresh(specs, mode, now)


def assignment_for_members(corp, members: list[dict], mode: str, *, now: datetime,
                           live_code=None) -> assignment.Assignment:
    specs = []
    for m in members:
        if m["employee"] is not None:
            e = m["employee"]
            people = (assignment.Person(e.id, e.userid, e.is_active),)
        else:
            people = _people_of_department(corp, m["department"])
        specs.append(assignment.Member(people, daily_cap=m["daily_cap"],
                                       is_backup=m["is_backup"], order=m["order"],
                                       slots=_slots(m["slots"])))
    counts, position = {}, 0
    if live_code is not None and live_code.pk:
        counts = today_counts(live_code, now=now)
        position = (LiveCodeRotation.objects.for_corp(corp).filter(live_code=live_code)
                    .values_list("position", flat=True).first() or 0)
    return assignment.assign(specs, mode, now=now, counts=counts, rotation=position)


def today_counts(live_code, *, now: datetime) -> dict[int, int]:
    return dict(LiveCodeDailyCount.objects.for_corp(live_code.corp_id)
                .filter(live_code=live_code, day=assignment.china_day(now))
                .values_list("employee_id", "count"))


def record_assignment(*, live_code, employee_id: int, now: datetime) -> int:
    """Count one customer for ``employee_id`` today (China day) and advance the round-robin
    position; returns the employee's count for today. Safe under concurrent workers."""
    day = assignment.china_day(now)
    counts = LiveCodeDailyCount.objects.for_corp(live_code.corp_id)
    rotations = LiveCodeRotation.objects.for_corp(live_code.corp_id)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                counts.get_or_create(corp_id=live_code.corp_id, live_code=live_code,
                                     employee_id=employee_id, day=day)
                rotations.get_or_create(corp_id=live_code.corp_id, live_code=live_code)
            break
        except IntegrityError:
            # Another process created the row between our read and insert: it exists now.
            continue
    counts.filter(live_code=live_code, employee_id=employee_id, day=day).update(
        count=F("count") + 1)
    rotations.filter(live_code=live_code).update(position=F("position") + 1)
    return counts.filter(live_code=live_code, employee_id=employee_id, day=day).values_list(
        "count", flat=True).get()
