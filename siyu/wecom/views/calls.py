"""Console page for admins: the WeCom API calls of their enterprise, with per-API counts and
latency over the last hour."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from siyu.console.access import console_view, paginate, render_page
from siyu.wecom.selectors import (
    ERRCODE_CHOICES,
    PERMISSION,
    CallFilters,
    api_call_stats_for,
    api_calls_for,
    api_names_for,
)

STATS_WINDOW = timedelta(hours=1)
CHART_APIS = 15


def _filters(request) -> CallFilters:
    errcode = request.GET.get("errcode", "").strip()
    if errcode not in ERRCODE_CHOICES and not errcode.lstrip("-").isdigit():
        errcode = ""  # an unknown value shows everything rather than nothing
    return CallFilters(api=request.GET.get("api", "").strip()[:128], errcode=errcode[:12])


@require_GET
@console_view(PERMISSION)
def calls_view(request):
    filters = _filters(request)
    context = {
        "page_obj": paginate(request, api_calls_for(request.user, filters), per_page=50),
        "filters": filters,
        "filtered": filters.active,
        "errcode_choices": [("ok", _("Succeeded")), ("errors", _("Failed")),
                            ("network", _("Network errors"))],
    }
    stats = api_call_stats_for(request.user, since=timezone.now() - STATS_WINDOW)
    calls = sum(s.calls for s in stats)
    errors = sum(s.errors for s in stats)
    context.update(
        api_names=api_names_for(request.user),
        stats=stats,
        totals={"calls": calls, "errors": errors, "apis": len(stats),
                "error_percent": round(100 * errors / calls, 1) if calls else 0},
        chart_data={
            "apis": [s.api for s in stats[:CHART_APIS]],
            "ok": [s.calls - s.errors for s in stats[:CHART_APIS]],
            "errors": [s.errors for s in stats[:CHART_APIS]],
            "labels": {"ok": _("Succeeded"), "errors": _("Failed")},
        } if stats else None,
    )
    return render_page(request, "wecom/calls.html", context, partial="wecom/_calls_results.html")
