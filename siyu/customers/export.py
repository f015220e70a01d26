"""Customer export to CSV or Excel, shared by the REST API and the console.

``export_customers`` checks the permission and builds the query before it returns, so a
refusal is an ordinary 403 and never a half-sent download. CSV is streamed row by row; xlsx is
built in memory because the format is a zip archive.
"""

import csv
import io
import json

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from siyu.accounts.scoping import require
from siyu.core.errors import ValidationFailed
from siyu.customers.selectors import CustomerFilters, customer_list, with_list_details

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
# Excel reads "=", "+", "-", "@" (and tab / CR) at the start of a cell as a formula; a quote
# in front keeps customer-entered text inert (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 500


def export_customers(actor, filters: CustomerFilters, fmt: str):
    """Returns ``(content, content_type, filename)``; content is bytes or an iterator of bytes."""
    require(actor, "customers.export")
    if fmt not in FORMATS:
        raise ValidationFailed(_("Unknown export format."),
                               field_errors={"format": [_("Choose csv or xlsx.")]})
    customers = with_list_details(
        customer_list(actor, filters, permission="customers.export"), actor).order_by("-id")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"customers-{stamp}.{fmt}"
    header = _header()
    language = translation.get_language()
    if fmt == "csv":
        return _csv_stream(header, customers, language), CSV_TYPE, filename
    return _xlsx_bytes(header, customers), XLSX_TYPE, filename


def _header() -> list[str]:
    return [
        _("ID"), _("Name"), _("Phones"), _("Type"), _("Gender"), _("Email"), _("Birthday"),
        _("Region"), _("Company"), _("Employees"), _("Remarks"), _("Channel states"),
        _("Tags"), _("First added at"), _("Created at"), _("External userid"), _("Unionid"),
        _("Custom fields"),
    ]


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def customer_row(customer) -> list:
    """One export row; expects ``with_list_details`` prefetches (no query per row)."""
    follows = customer.active_follows
    links = sorted(customer.tag_list,
                   key=lambda link: (link.tag.group.order, link.tag.group_id, link.tag.order,
                                     link.tag_id))
    return [
        customer.pk,
        customer.name,
        ", ".join(customer.phones),
        customer.get_type_display(),
        customer.get_gender_display(),
        customer.email,
        customer.birthday.isoformat() if customer.birthday else "",
        customer.region,
        customer.company,
        ", ".join(f.employee.name for f in follows),
        "; ".join(f.remark for f in follows if f.remark),
        ", ".join(sorted({f.state for f in follows if f.state})),
        ", ".join(f"{link.tag.group.name}/{link.tag.name}" for link in links),
        _when(min((f.added_at for f in follows), default=None)),
        _when(customer.created_at),
        customer.external_userid or "",
        customer.unionid,
        json.dumps(customer.custom_fields, ensure_ascii=False) if customer.custom_fields else "",
    ]


def _cell(value):
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


class _Echo:
    """csv.writer target that hands each formatted line back instead of buffering it."""

    def write(self, value):
        return value


def _csv_stream(header, customers, language):
    writer = csv.writer(_Echo())
    # The byte-order mark makes Excel read the file as UTF-8, so Chinese shows correctly.
    yield "\ufeff".encode()
    yield writer.writerow(header).encode()
    # Streaming runs after the view returned; keep the request's language for choice labels.
    with translation.override(language):
        for customer in customers.iterator(chunk_size=CHUNK_SIZE):
            yield writer.writerow([_cell(v) for v in customer_row(customer)]).encode()


def _xlsx_bytes(header, customers) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Customers"))
    sheet.append(header)
    for customer in customers.iterator(chunk_size=CHUNK_SIZE):
        sheet.append([_cell(v) for v in customer_row(customer)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
