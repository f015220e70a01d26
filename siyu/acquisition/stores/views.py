"""Console pages for store live codes (B4): the list, a code's stores with their employees and
groups, the landing page's URL and QR code (PNG made here with segno), and the forms that add,
edit and delete stores. Reads go through store_selectors, writes through store_services."""

import io

import segno
from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from siyu.accounts.models import Employee
from siyu.accounts.selectors import employees_for
from siyu.acquisition.stores import services as store_services
from siyu.acquisition.stores.selectors import (
    MANAGE,
    store_code_get_for,
    store_codes_for,
    store_get_for,
    stores_of,
)
from siyu.acquisition.view_helpers import qr_png_response
from siyu.console.access import console_view, paginate, render_page
from siyu.core.errors import DomainError, ValidationFailed
from siyu.groups.models import CustomerGroup
from siyu.groups.selectors import groups_for
from siyu.wecom.errors import WeComError

STORE_FIELDS = ("name", "province", "city", "district", "address", "latitude", "longitude",
                "coordinate_system", "phone", "order")


def landing_url(request, store_code) -> str:
    return request.build_absolute_uri(reverse("acquisition_public:landing",
                                              args=[store_code.slug]))


def _failure(exc) -> tuple[str, dict]:
    """(form-level message, field errors) for a refused write."""
    if isinstance(exc, ValidationFailed):
        return _("Some fields are not valid; nothing was saved."), exc.field_errors
    if isinstance(exc, DomainError):
        return exc.message, {}
    return _("WeCom did not accept the change (%(error)s); nothing was saved. Try again in a "
             "minute.") % {"error": exc}, {}


# --- store codes ----------------------------------------------------------------------------
@console_view("acquisition.view")
@require_http_methods(["GET"])
def store_codes_view(request):
    # Meta.ordering does not apply to a GROUP BY query, so the order is spelled out.
    codes = (store_codes_for(request.user).annotate(store_count=Count("stores"))
             .order_by("-created_at", "-id"))
    page = paginate(request, codes)
    return render_page(request, "acquisition/stores/list.html",
                       {"page_obj": page, "codes": page.object_list,
                        "can_manage": request.user.has_siyu_perm(MANAGE)})


@console_view(MANAGE)
@require_http_methods(["GET", "POST"])
def store_code_create_view(request):
    values, errors, error = {"name": ""}, {}, ""
    if request.method == "POST":
        values["name"] = request.POST.get("name", "")
        try:
            code = store_services.store_code_create(corp=request.user.corp, actor=request.user,
                                                    name=values["name"])
        except DomainError as exc:
            error, errors = _failure(exc)
        else:
            messages.success(request, _("Store code created. Add its stores next."))
            return redirect("acquisition:store_code_detail", pk=code.pk)
    return render_page(request, "acquisition/stores/code_form.html",
                       {"values": values, "errors": errors, "error": error},
                       status=422 if errors or error else 200)


@console_view("acquisition.view")
@require_http_methods(["GET"])
def store_code_detail_view(request, pk):
    code = store_code_get_for(request.user, pk)
    return render_page(request, "acquisition/stores/detail.html", {
        "code": code, "stores": list(stores_of(code)), "landing_url": landing_url(request, code),
        "can_manage": request.user.has_siyu_perm(MANAGE) and code.status == "active",
    })


@console_view(MANAGE)
@require_POST
def store_code_rename_view(request, pk):
    code = store_code_get_for(request.user, pk)
    try:
        store_services.store_code_update(corp=request.user.corp, actor=request.user,
                                         store_code=code, name=request.POST.get("name", ""))
    except (DomainError, WeComError) as exc:
        message, errors = _failure(exc)
        messages.error(request, "; ".join(m for msgs in errors.values() for m in msgs)
                       or message)
    else:
        messages.success(request, _("Store code renamed."))
    return redirect("acquisition:store_code_detail", pk=code.pk)


@console_view(MANAGE)
@require_POST
def store_code_disable_view(request, pk):
    code = store_code_get_for(request.user, pk)
    try:
        store_services.store_code_disable(corp=request.user.corp, actor=request.user,
                                          store_code=code)
    except (DomainError, WeComError) as exc:
        messages.error(request, _failure(exc)[0])
    else:
        messages.success(request, _("Store code disabled: its landing page and its stores' "
                                    "codes no longer work."))
    return redirect("acquisition:store_code_detail", pk=code.pk)


@console_view("acquisition.view")
@require_http_methods(["GET"])
def store_code_qr_view(request, pk):
    """The landing page's QR code as a PNG, made locally (no third-party QR service)."""
    code = store_code_get_for(request.user, pk)
    buffer = io.BytesIO()
    segno.make(landing_url(request, code), error="m").save(buffer, kind="png", scale=10,
                                                            border=2)
    return qr_png_response(request, buffer.getvalue(), fallback=f"store-code-{code.pk}")


# --- stores ---------------------------------------------------------------------------------
def _pickers(actor, store=None) -> dict:
    """Active employees and groups the actor may see, plus whoever the store has already, so
    saving the form never silently drops a member the actor cannot see."""
    employees = list(employees_for(actor, status=Employee.Status.ACTIVE).order_by("name", "id"))
    groups = list(groups_for(actor).filter(status=CustomerGroup.Status.ACTIVE)
                  .order_by("name", "id"))
    if store is not None:
        employees += [e for e in store.employees.all() if e not in employees]
        groups += [g for g in store.groups.all() if g not in groups]
    return {"employees": employees, "groups": groups}


def _posted(request) -> dict:
    values = {key: request.POST.get(key, "") for key in STORE_FIELDS}
    values["employee_ids"] = request.POST.getlist("employees")
    values["group_ids"] = request.POST.getlist("groups")
    return values


def _values_of(store) -> dict:
    return {"name": store.name, "province": store.province, "city": store.city,
            "district": store.district, "address": store.address,
            "latitude": "" if store.latitude is None else str(store.latitude),
            "longitude": "" if store.longitude is None else str(store.longitude),
            "coordinate_system": "wgs84", "phone": store.phone, "order": str(store.order),
            "employee_ids": [str(e.pk) for e in store.employees.all()],
            "group_ids": [str(g.pk) for g in store.groups.all()]}


def _store_form(request, code, *, store=None, values, errors=None, error="", status=200):
    return render_page(request, "acquisition/stores/store_form.html", {
        "code": code, "store": store, "values": values, "errors": errors or {},
        "error": error, **_pickers(request.user, store),
        "coordinate_systems": [("wgs84", _("WGS-84 (GPS, as phones report it)")),
                               ("gcj02", _("GCJ-02 (copied from Amap or Tencent maps)"))],
    }, status=status)


def _save_store(request, code, store=None):
    values = _posted(request)
    kwargs = {key: values[key] for key in STORE_FIELDS} | {
        "employee_ids": values["employee_ids"], "group_ids": values["group_ids"]}
    try:
        if store is None:
            store_services.store_create(corp=request.user.corp, actor=request.user,
                                        store_code=code, **kwargs)
        else:
            store_services.store_update(corp=request.user.corp, actor=request.user,
                                        store=store, **kwargs)
    except (DomainError, WeComError) as exc:
        error, errors = _failure(exc)
        return _store_form(request, code, store=store, values=values, errors=errors,
                           error=error, status=422)
    messages.success(request, _("Store saved."))
    return redirect("acquisition:store_code_detail", pk=code.pk)


@console_view(MANAGE)
@require_http_methods(["GET", "POST"])
def store_create_view(request, pk):
    code = store_code_get_for(request.user, pk)
    if request.method == "POST":
        return _save_store(request, code)
    values = {key: "" for key in STORE_FIELDS} | {"coordinate_system": "wgs84",
                                                  "employee_ids": [], "group_ids": []}
    return _store_form(request, code, values=values)


@console_view(MANAGE)
@require_http_methods(["GET", "POST"])
def store_edit_view(request, pk, store_pk):
    code = store_code_get_for(request.user, pk)
    store = store_get_for(request.user, code, store_pk)
    if request.method == "POST":
        return _save_store(request, code, store)
    return _store_form(request, code, store=store, values=_values_of(store))


@console_view(MANAGE)
@require_POST
def store_delete_view(request, pk, store_pk):
    code = store_code_get_for(request.user, pk)
    store = store_get_for(request.user, code, store_pk)
    try:
        store_services.store_delete(corp=request.user.corp, actor=request.user, store=store)
    except (DomainError, WeComError) as exc:
        messages.error(request, _failure(exc)[0])
    else:
        messages.success(request, _("Store “%(name)s” deleted; its codes were disabled.")
                         % {"name": store.name})
    return redirect("acquisition:store_code_detail", pk=code.pk)
