"""Downloads of one live code's statistics: CSV (UTF-8 with a byte-order mark so Excel reads
Chinese) with a per-day and a per-employee section, or xlsx with one sheet for each."""

import csv
import io

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl import Workbook

from siyu.acquisition.stats.selectors import RETENTION_DAYS, LiveCodeStats, Measures
from siyu.customers.export import _cell as safe_cell


def _day_header() -> list[str]:
    return [_("Day (China time)"), _("Scans"), _("New customers"), _("Deleted"),
            _("Deleted by the customer"), _("Deleted by the employee"), _("Net")]


def _day_values(measures: Measures) -> list:
    return [measures.scans, measures.new_customers, measures.deleted,
            measures.deleted_by_customer, measures.deleted_by_employee, measures.net]


def _retention_header(days: int) -> str:
    return ngettext("Retention after %(days)s day (%%)", "Retention after %(days)s days (%%)",
                    days) % {"days": days}


def _employee_header() -> list[str]:
    return [_("Employee"), _("Scans"), _("New customers"), _("Deleted"),
            _("Deleted by the customer"), _("Deleted by the employee"), _("Net"),
            *(_retention_header(days) for days in RETENTION_DAYS)]


def _employee_values(measures: Measures) -> list:
    percents = []
    for days in RETENTION_DAYS:
        retention = measures.retention_at(days)
        percents.append("" if retention is None or retention.percent is None
                        else retention.percent)
    return [*_day_values(measures), *percents]


def _day_rows(stats: LiveCodeStats) -> list[list]:
    rows = [[row.day.isoformat(), *_day_values(row.measures)] for row in stats.days]
    rows.append([_("Total"), *_day_values(stats.totals)])
    return rows


def _employee_rows(stats: LiveCodeStats) -> list[list]:
    rows = [[row.name, *_employee_values(row.measures)] for row in stats.employees]
    rows.append([_("Total"), *_employee_values(stats.totals)])
    return rows


def _preamble(stats: LiveCodeStats) -> list[list]:
    return [
        [_("Live code"), stats.live_code.name],
        [_("From"), stats.range.first.isoformat(), _("To"), stats.range.last.isoformat()],
        [_("Exported at"), timezone.localtime(stats.now).strftime("%Y-%m-%d %H:%M")],
    ]


def stats_csv(stats: LiveCodeStats) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    lines = [
        *_preamble(stats), [],
        [_("Per day")], _day_header(), *_day_rows(stats), [],
        [_("Per employee")], _employee_header(), *_employee_rows(stats),
    ]
    for line in lines:
        writer.writerow([safe_cell(value) for value in line])
    # The byte-order mark makes Excel read the file as UTF-8, so Chinese shows correctly.
    return ("\ufeff" + buffer.getvalue()).encode()


def stats_xlsx(stats: LiveCodeStats) -> bytes:
    book = Workbook(write_only=True)
    for title, header, rows in (
        (_("Per day"), _day_header(), _day_rows(stats)),
        (_("Per employee"), _employee_header(), _employee_rows(stats)),
    ):
        sheet = book.create_sheet(title)
        for line in _preamble(stats):
            sheet.append([safe_cell(value) for value in line])
        sheet.append([])
        sheet.append(header)
        for row in rows:
            sheet.append([safe_cell(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
