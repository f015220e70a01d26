"""Console pages of live code statistics: one code's page (charts, per-employee table, CSV and
xlsx downloads) and an overview of every code the user may see. Both filter by a range of
China days through htmx; the numbers come from siyu.acquisition.stats.selectors."""

from django import forms
from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from siyu.acquisition.stats.export import stats_csv, stats_xlsx
from siyu.acquisition.stats.selectors import (
    RETENTION_DAYS,
    day_range,
    live_code_stats,
    live_codes_stats,
)
from siyu.console.access import console_view, render_page
from siyu.core.errors import ValidationFailed

DATE_ERROR = gettext_lazy("Use a date like 2025-01-31.")


class DayRangeForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}),
                                error_messages={"invalid": DATE_ERROR})
    date_to = forms.DateField(label=gettext_lazy("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}),
                              error_messages={"invalid": DATE_ERROR})


def _range_from(request):
    """The requested range and the bound form; invalid input falls back to the default range
    and leaves its errors on the form, next to the field."""
    form = DayRangeForm(request.GET or None)
    if not form.is_bound:
        # Show the default range in the inputs rather than empty date pickers.
        selected = day_range()
        return selected, DayRangeForm(initial={"date_from": selected.first,
                                               "date_to": selected.last})
    cleaned = form.cleaned_data if form.is_valid() else {}
    try:
        return day_range(cleaned.get("date_from"), cleaned.get("date_to")), form
    except ValidationFailed as exc:
        for name, messages in exc.field_errors.items():
            for message in messages:
                form.add_error(name, message)
        return day_range(), form


def _range_query(selected) -> str:
    return urlencode({"date_from": selected.first.isoformat(),
                      "date_to": selected.last.isoformat()})


def _chart_data(stats) -> dict:
    return {
        "days": [row.day.isoformat() for row in stats.days],
        "series": {
            "scans": [row.measures.scans for row in stats.days],
            "new_customers": [row.measures.new_customers for row in stats.days],
            "deleted": [row.measures.deleted for row in stats.days],
            "net": [row.measures.net for row in stats.days],
        },
        "employees": [row.name for row in stats.employees],
        "employee_net": [row.measures.net for row in stats.employees],
        "employee_deleted": [row.measures.deleted for row in stats.employees],
        "labels": {
            "scans": _("Scans"), "new_customers": _("New customers"),
            "deleted": _("Deleted"), "net": _("Net"),
        },
    }


@require_GET
@console_view("acquisition.view")
def live_code_stats_view(request, pk):
    selected, form = _range_from(request)
    stats = live_code_stats(request.user, pk, selected)
    query = _range_query(selected)
    context = {
        "stats": stats,
        "code": stats.live_code,
        "form": form,
        "retention_days": RETENTION_DAYS,
        "chart_data": _chart_data(stats),
        "csv_url": f"{reverse('acquisition:live_code_stats_csv', args=[pk])}?{query}",
        "xlsx_url": f"{reverse('acquisition:live_code_stats_xlsx', args=[pk])}?{query}",
    }
    return render_page(request, "acquisition/stats/live_code.html", context,
                       partial="acquisition/stats/_live_code_results.html")


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _filename(stats, extension: str) -> str:
    stamp = f"{stats.range.first:%Y%m%d}-{stats.range.last:%Y%m%d}"
    return f"live-code-{stats.live_code.pk}-stats-{stamp}.{extension}"


@require_GET
@console_view("acquisition.view")
def live_code_stats_csv_view(request, pk):
    selected, _form = _range_from(request)
    stats = live_code_stats(request.user, pk, selected)
    return _download(stats_csv(stats), "text/csv; charset=utf-8", _filename(stats, "csv"))


@require_GET
@console_view("acquisition.view")
def live_code_stats_xlsx_view(request, pk):
    selected, _form = _range_from(request)
    stats = live_code_stats(request.user, pk, selected)
    return _download(
        stats_xlsx(stats),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _filename(stats, "xlsx"))


@require_GET
@console_view("acquisition.view")
def live_codes_stats_view(request):
    selected, form = _range_from(request)
    rows = live_codes_stats(request.user, selected)
    context = {
        "rows": rows,
        "range": selected,
        "form": form,
        "retention_days": RETENTION_DAYS,
        "range_query": _range_query(selected),
    }
    return render_page(request, "acquisition/stats/overview.html", context,
                       partial="acquisition/stats/_overview_results.html")
