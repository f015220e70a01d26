"""Console pages of channel live codes (B2): list, create/edit form, detail with the QR code,
PNG download, printable poster, disable. Views parse input, call a selector or service, render;
writes go through siyu.acquisition.live_codes.services (which syncs the WeCom contact way)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from siyu.accounts.models import Employee
from siyu.accounts.selectors import departments_for, employees_for
from siyu.acquisition.live_codes import services
from siyu.acquisition.live_codes.forms import LiveCodeValues, parse_live_code_post, values_of
from siyu.acquisition.live_codes.selectors import (
    live_code_get_for,
    live_code_get_for_manage,
    live_code_list,
    live_code_recent_adds,
    live_code_recent_welcomes,
)
from siyu.acquisition.models import LiveCode
from siyu.acquisition.view_helpers import REFUSALS, qr_error_page, qr_png_response, refusal
from siyu.console.access import console_view, paginate, render_page
from siyu.core.errors import DomainError
from siyu.engagement.welcome_editor import welcome_from_post
from siyu.tags.selectors import tag_groups_for
from siyu.wecom.errors import WeComTransientError
from siyu.wecom.qr import qr_image_fetch

VIEW, MANAGE = "acquisition.view", "acquisition.manage"
WEEKDAYS = [(0, gettext_lazy("Mon")), (1, gettext_lazy("Tue")), (2, gettext_lazy("Wed")),
            (3, gettext_lazy("Thu")), (4, gettext_lazy("Fri")), (5, gettext_lazy("Sat")),
            (6, gettext_lazy("Sun"))]
POSTER_SIZES = {"a4": "A4", "a5": "A5"}
# The model's "Active" is also an employee's status (在职); a code is in use (启用).
STATUS_LABELS = [(LiveCode.Status.ACTIVE, pgettext_lazy("live code", "Active")),
                 (LiveCode.Status.DISABLED, pgettext_lazy("live code", "Disabled"))]


# -- list -------------------------------------------------------------------------------------
@require_GET
@console_view(VIEW)
def live_codes_view(request):
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    page = paginate(request, live_code_list(request.user, q=q, status=status))
    context = {"page_obj": page, "codes": page.object_list, "q": q, "status": status,
               "statuses": STATUS_LABELS,
               "can_manage": request.user.has_siyu_perm(MANAGE)}
    return render_page(request, "acquisition/live_codes/list.html", context,
                       partial="acquisition/live_codes/_table.html")


# -- create / edit ----------------------------------------------------------------------------
def _choices(actor) -> dict:
    active = employees_for(actor, status=Employee.Status.ACTIVE).order_by("name", "pk")
    employees = [(f"employee:{e.pk}", f"{e.name} ({e.userid})") for e in active]
    departments = [(f"department:{d.pk}", d.name)
                   for d in departments_for(actor).order_by("path")]
    return {"member_options": [(_("Employees"), employees), (_("Departments"), departments)],
            "tag_groups": [g for g in tag_groups_for(actor) if list(g.tags.all())],
            "modes": LiveCode.Mode.choices, "weekdays": WEEKDAYS}


def _form(request, values: LiveCodeValues, *, live_code=None, errors=None, problem="",
          status=200):
    context = {"values": values, "live_code": live_code, "errors": errors or {},
               "problem": problem, **_choices(request.user)}
    return render_page(request, "acquisition/live_codes/form.html", context, status=status)


def _save(request, live_code=None):
    """Parse, call the service; the form again (422) with every message if anything failed."""
    actor = request.user
    parsed = parse_live_code_post(request.POST, welcome_from_post)
    if parsed.errors:
        return _form(request, parsed.values, live_code=live_code, errors=parsed.errors,
                     status=422)
    try:
        if live_code is None:
            live_code = services.live_code_create(corp=actor.corp, actor=actor, **parsed.kwargs)
            messages.success(request,
                             _("Live code “%(name)s” created.") % {"name": live_code.name})
        else:
            services.live_code_update(corp=actor.corp, actor=actor, live_code=live_code,
                                      **parsed.kwargs)
            messages.success(request,
                             _("Live code “%(name)s” saved.") % {"name": live_code.name})
    except REFUSALS as exc:
        problem, errors, status = refusal(exc)
        return _form(request, parsed.values, live_code=live_code, errors=errors,
                     problem=problem, status=status)
    return redirect("acquisition:live_code_detail", pk=live_code.pk)


@require_http_methods(["GET", "POST"])
@console_view(MANAGE)
def live_code_create_view(request):
    if request.method == "POST":
        return _save(request)
    return _form(request, LiveCodeValues(members=[{"who": "", "daily_cap": "",
                                                   "is_backup": False, "order": "",
                                                   "slots": []}]))


@require_http_methods(["GET", "POST"])
@console_view(MANAGE)
def live_code_edit_view(request, pk):
    live_code = live_code_get_for_manage(request.user, pk)
    if live_code.status != LiveCode.Status.ACTIVE:
        messages.warning(request, _("This live code is disabled; disabled codes cannot be "
                                    "edited."))
        return redirect("acquisition:live_code_detail", pk=live_code.pk)
    if request.method == "POST":
        return _save(request, live_code)
    return _form(request, values_of(live_code), live_code=live_code)


# -- detail, disable ---------------------------------------------------------------------------
def _slot_label(slot) -> str:
    names = dict(WEEKDAYS)
    days = ", ".join(str(names[d]) for d in slot.weekdays if d in names)
    start, end = slot.start_time.strftime("%H:%M"), slot.end_time.strftime("%H:%M")
    if slot.end_time <= slot.start_time:
        return _("%(days)s %(start)s–%(end)s (next day)") % {"days": days, "start": start,
                                                             "end": end}
    return _("%(days)s %(start)s–%(end)s") % {"days": days, "start": start, "end": end}


@require_GET
@console_view(VIEW)
def live_code_detail_view(request, pk):
    actor = request.user
    live_code = live_code_get_for(actor, pk)
    members = list(live_code.members.select_related("employee", "department")
                   .prefetch_related("time_slots"))
    for member in members:
        member.slot_labels = [_slot_label(slot) for slot in member.time_slots.all()]
    context = {"code": live_code, "members": members, "tags": list(live_code.tags.all()),
               "adds": live_code_recent_adds(actor, live_code),
               "welcomes": live_code_recent_welcomes(actor, live_code),
               "can_manage": actor.has_siyu_perm(MANAGE),
               "can_view_customers": actor.has_siyu_perm("customers.view")}
    return render_page(request, "acquisition/live_codes/detail.html", context)


@require_POST
@console_view(MANAGE)
def live_code_disable_view(request, pk):
    actor = request.user
    live_code = live_code_get_for_manage(actor, pk)
    try:
        services.live_code_disable(corp=actor.corp, actor=actor, live_code=live_code)
    except DomainError as exc:
        messages.error(request, exc.message)
    except WeComTransientError:
        messages.error(request, _("WeCom is busy or could not be reached; the code is still "
                                  "active. Try again in a minute."))
    else:
        messages.success(request, _("Live code “%(name)s” disabled: its QR code no longer "
                                    "works.") % {"name": live_code.name})
    return redirect("acquisition:live_code_detail", pk=live_code.pk)


# -- QR image, poster --------------------------------------------------------------------------
@require_GET
@console_view(VIEW)
def live_code_qr_view(request, pk):
    """The code's QR image as PNG: inline for the pages, ``?download=1`` as a file."""
    live_code = live_code_get_for(request.user, pk)
    try:
        image = qr_image_fetch(live_code.corp, live_code.qr_code)
    except DomainError as exc:
        return qr_error_page(request, live_code, exc,
                             reverse("acquisition:live_code_detail", args=[live_code.pk]))
    return qr_png_response(request, image, fallback=f"live-code-{live_code.pk}",
                           name=live_code.name)


@require_GET
@console_view(VIEW)
def live_code_poster_view(request, pk):
    live_code = live_code_get_for(request.user, pk)
    size = request.GET.get("size", "a4")
    size = size if size in POSTER_SIZES else "a4"
    caption = (request.GET.get("caption") or "").strip()[:80] or _(
        "Scan the QR code with WeChat to add us")
    return render_page(request, "acquisition/live_codes/poster.html", {
        "code": live_code, "size": size, "page_size": POSTER_SIZES[size], "caption": caption,
        "sizes": POSTER_SIZES})
