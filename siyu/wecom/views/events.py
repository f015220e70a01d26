"""Console pages for received WeCom callbacks (admins): list with filters, detail, re-dispatch."""

import json

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from siyu.console.access import console_view, paginate, render_page
from siyu.core.errors import Conflict
from siyu.wecom.ingress.selectors import (
    PERMISSION,
    EventFilters,
    event_get_for,
    event_names_for,
    events_for,
)
from siyu.wecom.ingress.services import event_redispatch
from siyu.wecom.models import WeComEvent


def _filters(request) -> EventFilters:
    status = request.GET.get("status", "")
    return EventFilters(
        status=status if status in WeComEvent.Status.values else "",
        event=request.GET.get("event", "")[:64],
    )


@require_GET
@console_view(PERMISSION)
def events_view(request):
    filters = _filters(request)
    page = paginate(request, events_for(request.user, filters), per_page=30)
    context = {
        "page_obj": page,
        "filters": filters,
        "statuses": WeComEvent.Status.choices,
        "event_names": event_names_for(request.user),
        "filtered": bool(filters.status or filters.event),
    }
    return render_page(request, "wecom/events.html", context,
                       partial="wecom/_events_results.html")


@require_GET
@console_view(PERMISSION)
def event_detail_view(request, event_id):
    event = event_get_for(request.user, event_id)
    payload_rows = [
        (name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for name, value in (event.payload or {}).items()
    ]
    return render_page(request, "wecom/event_detail.html",
                       {"event": event, "payload_rows": payload_rows})


@require_POST
@console_view(PERMISSION)
def event_redispatch_view(request, event_id):
    try:
        event = event_redispatch(actor=request.user, event_id=event_id,
                                 ip=request.META.get("REMOTE_ADDR"))
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("wecom:event_detail", event_id=event_id)
    messages.success(request, _("The callback is queued to be dispatched again."))
    return redirect("wecom:event_detail", event_id=event.pk)
