"""The console's own pages: sign-in, overview, area placeholders, the audit log and the
background jobs."""

from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from siyu.accounts.selectors import employees_for
from siyu.accounts.services import session_login
from siyu.console.access import console_view, paginate, render_page
from siyu.console.audit_labels import action_label
from siyu.console.forms import AuditFilterForm, LoginForm
from siyu.console.navigation import area_get, area_url, is_console_user, user_may_see
from siyu.console.selectors import AuditFilters, audit_actions_for, audit_entries_for
from siyu.core.errors import Conflict, PermissionDenied, ValidationFailed
from siyu.core.jobs.selectors import jobs_overview
from siyu.core.jobs.services import job_retry
from siyu.customers.selectors import (
    customer_channel_breakdown,
    customer_counts,
    customer_daily_adds,
)
from siyu.tags.selectors import tags_for


def _safe_next(request, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return reverse("console:home")


@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if is_console_user(request.user):
        return redirect(_safe_next(request, next_url))
    form = LoginForm(request.POST or None)
    error, locked = "", False
    if request.method == "POST" and form.is_valid():
        try:
            session_login(request=request, username=form.cleaned_data["username"],
                          password=form.cleaned_data["password"])
        except PermissionDenied as exc:
            error, locked = exc.message, True
        except ValidationFailed as exc:
            error = exc.message
            for field, msgs in exc.field_errors.items():
                for msg in msgs:
                    form.add_error(field if field in form.fields else None, msg)
        else:
            return redirect(_safe_next(request, next_url))
    return render(request, "console/login.html",
                  {"form": form, "error": error, "locked": locked, "next": next_url},
                  status=429 if locked else 200)


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("console:login")


@require_GET
@console_view()
def home_view(request):
    user = request.user
    context = {}
    if user.has_siyu_perm("customers.view"):
        daily = customer_daily_adds(user, 30)
        channels, other = customer_channel_breakdown(user)
        channel_rows = [{"name": state or _("No channel"), "value": count}
                        for state, count in channels]
        if other:
            channel_rows.append({"name": _("Other channels"), "value": other})
        context.update(
            counts=customer_counts(user, days=7),
            added_30d=sum(n for _day, n in daily),
            chart_data={
                "days": [day.isoformat() for day, _n in daily],
                "adds": [n for _day, n in daily],
                "channels": channel_rows,
                "labels": {"adds": _("New customers"), "customers": _("Customers")},
            },
        )
    if user.has_siyu_perm("tags.view"):
        context["tag_count"] = tags_for(user).count()
    if user.has_siyu_perm("org.view"):
        context["employee_count"] = employees_for(user, status="active").count()
    return render_page(request, "console/home.html", context)


@require_GET
@console_view()
def area_view(request, slug):
    area = area_get(slug)
    if area is None:
        raise Http404(f"No area {slug!r}.")
    if not user_may_see(request.user, area):
        raise PermissionDenied(_("Your role cannot open this area."))
    href, built = area_url(area)
    if built:
        return redirect(href)
    return render_page(request, "console/area.html", {"area": area})


@require_GET
@console_view("audit.view")
def audit_view(request):
    user = request.user
    actions = [(code, action_label(code)) for code in audit_actions_for(user)]
    form = AuditFilterForm(request.GET or None, actions=actions)
    # Invalid fields are shown next to their inputs; the valid ones still filter.
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    filters = AuditFilters(
        action=cleaned.get("action") or "", actor=cleaned.get("actor") or "",
        date_from=cleaned.get("date_from"), date_to=cleaned.get("date_to"),
    )
    page = paginate(request, audit_entries_for(user, filters), per_page=30)
    return render_page(request, "console/audit.html",
                       {"form": form, "page_obj": page, "filtered": any(
                           (filters.action, filters.actor, filters.date_from, filters.date_to))},
                       partial="console/_audit_results.html")


@console_view("jobs.view")
def jobs_view(request):
    context = {"overview": jobs_overview(request.user)}
    return render_page(request, "console/jobs.html", context, partial="console/_jobs_body.html")


@console_view("jobs.view")
@require_POST
def job_retry_view(request, job_id):
    try:
        job_retry(actor=request.user, job_id=job_id, ip=request.META.get("REMOTE_ADDR"))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The job is queued to run again."))
    return redirect("console:jobs")
