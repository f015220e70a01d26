"""Per-code statistics of channel live codes (B2, E1): pure reads, aggregated in the database.

Definitions (the console page shows them too):

- scans: add events through the code (every ``LiveCodeAdd``, a customer who re-adds included);
- new customers: adds that created the customer in Siyu;
- deleted: adds whose relationship with that employee has ended, split by who ended it;
- net: adds whose relationship with that employee still stands now;
- retention at N days: among the adds at least N days old, the share whose relationship still
  stood N days after the add (not ended, or ended later than that).

The relationship of an add is the ``FollowRelation`` of its customer and employee. It keeps only
its latest state, so a customer who deleted the employee and added them again counts every one
of their adds by the relationship as it is now. Days are China days (Asia/Shanghai) whatever the
server's time zone, and every series counts adds by the day they were made: "deleted" on a day
means "added that day and since deleted".

Rows are restricted twice: to the codes the actor may see (``live_codes_for``) and to the adds
of employees in the actor's data scope (``visible_employee_ids``), so staff who share a code see
only their own adds.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, DateTimeField, F, FilteredRelation, Func, Q
from django.db.models.functions import TruncDate
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext as _

from siyu.accounts.models import Employee
from siyu.accounts.scoping import require, visible_employee_ids
from siyu.acquisition.live_codes.assignment import CHINA, china_day
from siyu.acquisition.live_codes.selectors import live_code_get_for, live_codes_for
from siyu.acquisition.models import LiveCodeAdd
from siyu.core.errors import ValidationFailed

VIEW = "acquisition.view"
RETENTION_DAYS = (1, 7, 30)
DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class DayRange:
    """Inclusive range of China days."""

    first: datetime.date
    last: datetime.date

    @property
    def days(self) -> list[datetime.date]:
        return [self.first + datetime.timedelta(days=i)
                for i in range((self.last - self.first).days + 1)]

    @property
    def start(self) -> datetime.datetime:
        return datetime.datetime.combine(self.first, datetime.time.min, tzinfo=CHINA)

    @property
    def end(self) -> datetime.datetime:
        """Exclusive: midnight in China after the last day."""
        return datetime.datetime.combine(self.last + datetime.timedelta(days=1),
                                         datetime.time.min, tzinfo=CHINA)


def day_range(first: datetime.date | None = None, last: datetime.date | None = None, *,
              now: datetime.datetime | None = None) -> DayRange:
    """The requested range; missing ends default to the last 30 China days up to today."""
    today = china_day(now or timezone.now())
    last = last or (today if first is None
                    else min(today, first + datetime.timedelta(days=DEFAULT_DAYS - 1)))
    first = first or last - datetime.timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValidationFailed(_("The date range ends before it starts."),
                               field_errors={"date_to": [
                                   _("Choose an end date on or after the start date.")]})
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed(
            _("The date range is too long."),
            field_errors={"date_from": [
                _("Choose at most %(days)s days; export several ranges for longer periods.")
                % {"days": MAX_DAYS}]})
    return DayRange(first, last)


@dataclass(frozen=True)
class Retention:
    days: int
    eligible: int  # adds at least ``days`` old
    retained: int

    @property
    def rate(self) -> float | None:
        return self.retained / self.eligible if self.eligible else None

    @property
    def percent(self) -> float | None:
        return None if self.rate is None else round(self.rate * 100, 1)


@dataclass(frozen=True)
class Measures:
    scans: int = 0
    new_customers: int = 0
    net: int = 0
    deleted: int = 0
    deleted_by_customer: int = 0
    deleted_by_employee: int = 0
    inactive: int = 0  # scans of the code while it was expired or disabled
    retention: tuple[Retention, ...] = field(
        default_factory=lambda: tuple(Retention(days, 0, 0) for days in RETENTION_DAYS))

    def retention_at(self, days: int) -> Retention | None:
        return next((r for r in self.retention if r.days == days), None)

    def __add__(self, other: "Measures") -> "Measures":
        counts = {name: getattr(self, name) + getattr(other, name) for name in _COUNTS}
        retention = tuple(Retention(mine.days, mine.eligible + theirs.eligible,
                                    mine.retained + theirs.retained)
                          for mine, theirs in zip(self.retention, other.retention, strict=True))
        return Measures(**counts, retention=retention)


_COUNTS = ("scans", "new_customers", "net", "deleted", "deleted_by_customer",
           "deleted_by_employee", "inactive")


@dataclass(frozen=True)
class DayRow:
    day: datetime.date
    measures: Measures


@dataclass(frozen=True)
class EmployeeRow:
    employee_id: int | None
    name: str
    measures: Measures


@dataclass(frozen=True)
class CodeRow:
    live_code: object
    measures: Measures


@dataclass(frozen=True)
class LiveCodeStats:
    live_code: object
    range: DayRange
    now: datetime.datetime
    totals: Measures
    days: list[DayRow] = field(default_factory=list)
    employees: list[EmployeeRow] = field(default_factory=list)


# --- query building ---------------------------------------------------------------------

class _ChinaDay(TruncDate):
    """The China day of a timestamp. SQLite gets the native ``date(ts, '+8 hours')`` instead of
    Django's per-row Python time zone function, which tripled the time of the per-day query
    on 100,000 adds; exact because Asia/Shanghai has had no daylight saving time since 1991
    (and SQLite stores timestamps in UTC)."""

    def __init__(self, expression, **extra):
        super().__init__(expression, tzinfo=CHINA, **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"date({sql}, '+8 hours')", params


class _Moment(Func):
    """A timestamp column, optionally moved ``days`` on, for comparing two timestamps.

    SQLite stores timestamps as UTC text, and Django adds a duration to one with a per-row
    Python function; there both sides are rendered by the native ``strftime`` (milliseconds,
    the same format on both sides, so text order is time order). Elsewhere: ``column +
    interval``."""

    output_field = DateTimeField()

    def __init__(self, column: str, days: int = 0):
        self.days = days
        moved = F(column) + datetime.timedelta(days=days) if days else F(column)
        super().__init__(F(column), moved)

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[1])

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        # %% is a literal % once Django turns its %s placeholders into SQLite's ?.
        return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {sql}, '+{self.days} days')", params


_STANDING = Q(rel__id__isnull=False, rel__deleted_at__isnull=True)
_DELETED = Q(rel__deleted_at__isnull=False)


def _adds(actor, corp_id, day_range: DayRange):
    """Adds in the range within the actor's data scope, joined to their relationship."""
    adds = (LiveCodeAdd.objects.for_corp(corp_id)
            .filter(added_at__gte=day_range.start, added_at__lt=day_range.end))
    employee_ids = visible_employee_ids(actor)
    if employee_ids is not None:
        adds = adds.filter(employee_id__in=employee_ids)
    # The relationship is the customer's follow of the very employee the add went to; a LEFT
    # JOIN keeps adds whose relationship row is missing (counted as scans, neither net nor
    # deleted).
    return adds.annotate(rel=FilteredRelation(
        "customer__follows", condition=Q(customer__follows__employee_id=F("employee_id"))))


def _count(condition=None):
    return Count("id", filter=condition) if condition is not None else Count("id")


def _basic_aggregates() -> dict:
    return {
        "scans": _count(),
        "new_customers": _count(Q(new_customer=True)),
        "net": _count(_STANDING),
        "deleted": _count(_DELETED),
        "deleted_by_customer": _count(_DELETED & Q(rel__deleted_by="customer")),
        "deleted_by_employee": _count(_DELETED & Q(rel__deleted_by="employee")),
        "inactive": _count(Q(code_inactive=True)),
    }


def _retention_aggregates(now: datetime.datetime) -> dict:
    aggregates = {}
    for days in RETENTION_DAYS:
        span = datetime.timedelta(days=days)
        # Old enough: exactly N days after the add counts. Retained: still standing, or ended
        # strictly after the N-day mark (ended at the mark itself means it did not last N days).
        # Standing is tested first so the date arithmetic runs only for ended relationships.
        eligible = Q(added_at__lte=now - span)
        ended_after = GreaterThan(_Moment("rel__deleted_at"), _Moment("added_at", days))
        lasted = _STANDING | (_DELETED & Q(ended_after))
        aggregates[f"eligible_{days}"] = _count(eligible)
        aggregates[f"retained_{days}"] = _count(eligible & lasted)
    return aggregates


def _all_aggregates(now: datetime.datetime) -> dict:
    return {**_basic_aggregates(), **_retention_aggregates(now)}


def _measures(row: dict) -> Measures:
    retention = tuple(Retention(days, row[f"eligible_{days}"], row[f"retained_{days}"])
                      for days in RETENTION_DAYS)
    return Measures(**{name: row[name] for name in _COUNTS}, retention=retention)


def _employee_names(corp_id, ids) -> dict:
    return dict(Employee.objects.for_corp(corp_id).filter(id__in=[i for i in ids if i])
                .values_list("id", "name"))


# --- selectors --------------------------------------------------------------------------

def live_code_stats(actor, live_code_id, day_range: DayRange, *,
                    now: datetime.datetime | None = None) -> LiveCodeStats:
    """Totals, the per-day series and the per-employee table of one code. Raises NotFound
    for a code outside the actor's enterprise or scope."""
    require(actor, VIEW)
    code = live_code_get_for(actor, live_code_id)
    now = now or timezone.now()
    adds = _adds(actor, code.corp_id, day_range).filter(live_code=code)

    # One pass over the adds, grouped by China day and employee; the day series, the
    # employee table and the totals are sums of these few hundred rows (counts add up,
    # retention included, as it is counted, not averaged).
    cells = [(row["day"], row["employee_id"], _measures(row))
             for row in adds.annotate(day=_ChinaDay("added_at"))
             .values("day", "employee_id").annotate(**_all_aggregates(now)).order_by()]
    per_day: dict = {}
    per_employee: dict = {}
    for day, employee_id, measures in cells:
        per_day[day] = per_day.get(day, Measures()) + measures
        per_employee[employee_id] = per_employee.get(employee_id, Measures()) + measures
    totals = sum(per_day.values(), Measures())
    days = [DayRow(day, per_day.get(day, Measures())) for day in day_range.days]

    names = _employee_names(code.corp_id, per_employee)
    employees = [
        EmployeeRow(employee_id, names.get(employee_id) or _("Employee no longer in Siyu"),
                    measures)
        for employee_id, measures in per_employee.items()
    ]
    employees.sort(key=lambda r: (-r.measures.scans, r.name, r.employee_id or 0))
    return LiveCodeStats(code, day_range, now, totals, days, employees)


def live_codes_stats(actor, day_range: DayRange, *,
                     now: datetime.datetime | None = None) -> list[CodeRow]:
    """One row of totals per code the actor may see (codes without adds in the range
    included), busiest first."""
    require(actor, VIEW)
    now = now or timezone.now()
    codes = list(live_codes_for(actor).order_by("name", "id"))
    if not codes:
        return []
    adds = _adds(actor, actor.corp_id, day_range).filter(live_code__in=[c.pk for c in codes])
    per_code = {row["live_code_id"]: _measures(row)
                for row in adds.values("live_code_id").annotate(**_all_aggregates(now))
                .order_by()}
    rows = [CodeRow(code, per_code.get(code.pk, Measures())) for code in codes]
    rows.sort(key=lambda r: -r.measures.scans)  # stable: ties keep the name order
    return rows
