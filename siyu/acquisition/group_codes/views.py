"""Console pages of group live codes (B3): list with each group's fill, create/edit form with
an ordered group picker, detail with the QR code and the joins per group, disable. Views parse
input, call a selector or service, render; writes go through
siyu.acquisition.group_codes.services (which syncs the WeCom join way and welcome template).

The group picker works without JavaScript: its add/remove/up/down buttons post the form with
``op`` and the page comes back with the list changed and nothing saved."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from siyu.acquisition.group_codes import services
from siyu.acquisition.group_codes.selectors import (
    group_code_fill,
    group_code_fills,
    group_code_get_for,
    group_code_get_for_manage,
    group_codes_for,
    groups_to_choose,
)
from siyu.acquisition.models import GroupCode
from siyu.acquisition.view_helpers import REFUSALS, qr_error_page, qr_png_response, refusal
from siyu.console.access import console_view, paginate, render_page
from siyu.core.errors import Conflict, DomainError
from siyu.engagement.welcome import ATTACHMENT_KINDS
from siyu.engagement.welcome_editor import ATTACHMENT_FIELDS, KIND_FIELDS
from siyu.wecom.errors import WeComTransientError
from siyu.wecom.qr import qr_image_fetch

VIEW, MANAGE = "acquisition.view", "acquisition.manage"


# -- list -------------------------------------------------------------------------------------
@require_GET
@console_view(VIEW)
def group_codes_view(request):
    status = request.GET.get("status", "")
    codes = group_codes_for(request.user).select_related("created_by")
    if status in GroupCode.Status.values:
        codes = codes.filter(status=status)
    else:
        status = ""
    page = paginate(request, codes.order_by("status", "-created_at", "-id"))
    fills = group_code_fills(request.user, page.object_list)
    rows = [{"code": code, "fills": fills[code.pk],
             "joined": sum(f.joined for f in fills[code.pk])} for code in page.object_list]
    context = {"page_obj": page, "rows": rows, "status": status,
               "statuses": GroupCode.Status.choices,
               "can_manage": request.user.has_siyu_perm(MANAGE)}
    return render_page(request, "acquisition/group_codes/list.html", context,
                       partial="acquisition/group_codes/_table.html")


# -- create / edit ----------------------------------------------------------------------------
@dataclass
class FormValues:
    """The form as typed (strings), shown again with errors or after a picker operation."""

    name: str = ""
    group_ids: list = field(default_factory=list)
    member_limit: str = ""
    auto_create_room: bool = False
    room_base_name: str = ""
    room_base_id: str = ""
    welcome_text: str = ""
    welcome_kind: str = ""
    welcome_fields: dict = field(default_factory=dict)
    expires_at: str = ""


def _values_of(code: GroupCode) -> FormValues:
    attachment = code.welcome_attachment or {}
    kind = attachment.get("msgtype", "")
    local_expiry = timezone.localtime(code.expires_at) if code.expires_at else None
    return FormValues(
        name=code.name, group_ids=list(code.entries.order_by("order", "id")
                                       .values_list("group_id", flat=True)),
        member_limit=str(code.member_limit), auto_create_room=code.auto_create_room,
        room_base_name=code.room_base_name,
        room_base_id="" if code.room_base_id is None else str(code.room_base_id),
        welcome_text=code.welcome_text, welcome_kind=kind,
        welcome_fields=dict(attachment.get(kind) or {}),
        expires_at=local_expiry.strftime("%Y-%m-%dT%H:%M") if local_expiry else "")


def _posted(post) -> FormValues:
    group_ids = []
    for raw in post.getlist("group_ids"):
        if raw.strip().isdigit() and int(raw) not in group_ids:
            group_ids.append(int(raw))
    return FormValues(
        name=post.get("name", ""), group_ids=group_ids,
        member_limit=post.get("member_limit", "").strip(),
        auto_create_room=post.get("auto_create_room") == "on",
        room_base_name=post.get("room_base_name", ""),
        room_base_id=post.get("room_base_id", "").strip(),
        welcome_text=post.get("welcome_text", "").replace("\r\n", "\n"),
        welcome_kind=post.get("welcome_kind", ""),
        welcome_fields={k: post.get(f"welcome_{k}", "").strip() for k in ATTACHMENT_FIELDS
                        if post.get(f"welcome_{k}", "").strip()},
        expires_at=post.get("expires_at", "").strip())


def _apply_op(values: FormValues, op: str, post) -> None:
    """The picker's buttons: add the chosen group, remove one, move one up or down."""
    ids = values.group_ids
    if op == "add":
        raw = post.get("add_group", "")
        if raw.isdigit() and int(raw) not in ids:
            ids.append(int(raw))
        return
    action, _sep, index = op.partition(":")
    if not index.isdigit() or int(index) >= len(ids):
        return
    i = int(index)
    if action == "remove":
        ids.pop(i)
    elif action == "up" and i > 0:
        ids[i - 1], ids[i] = ids[i], ids[i - 1]
    elif action == "down" and i < len(ids) - 1:
        ids[i + 1], ids[i] = ids[i], ids[i + 1]


def _kwargs(values: FormValues) -> tuple[dict, dict]:
    """The service's keyword arguments, and field errors the service cannot name (a date
    that does not parse)."""
    errors = {}
    expires_at = None
    if values.expires_at:
        try:
            expires_at = timezone.make_aware(datetime.fromisoformat(values.expires_at))
        except ValueError:
            errors["expires_at"] = [_("Give a date and time, for example 2025-12-31 23:59.")]
    attachment = None
    if values.welcome_kind:
        kind = values.welcome_kind
        attachment = {"msgtype": kind,
                      kind: {k: v for k, v in values.welcome_fields.items()
                             if k in KIND_FIELDS.get(kind, ())}}
    return {"name": values.name, "group_ids": values.group_ids,
            "member_limit": values.member_limit or None,
            "auto_create_room": values.auto_create_room,
            "room_base_name": values.room_base_name,
            "room_base_id": values.room_base_id or None,
            "welcome_text": values.welcome_text, "welcome_attachment": attachment,
            "expires_at": expires_at}, errors


def _form(request, values: FormValues, *, group_code=None, errors=None, problem="",
          status=200):
    actor = request.user
    choices = list(groups_to_choose(actor))
    by_id = {g.pk: g for g in choices}
    chosen = [by_id[pk] for pk in values.group_ids if pk in by_id]
    context = {"values": values, "group_code": group_code, "errors": errors or {},
               "problem": problem, "chosen": chosen,
               "addable": [g for g in choices if g.pk not in values.group_ids],
               "default_limit": services.default_member_limit(),
               "kinds": list(ATTACHMENT_KINDS),
               "attachment_inputs": [
                   {"key": key, "value": values.welcome_fields.get(key, ""),
                    "kinds": ", ".join(k for k, keys in KIND_FIELDS.items() if key in keys)}
                   for key in ATTACHMENT_FIELDS]}
    return render_page(request, "acquisition/group_codes/form.html", context, status=status)


def _save(request, group_code=None):
    actor = request.user
    values = _posted(request.POST)
    if op := request.POST.get("op"):
        _apply_op(values, op, request.POST)
        return _form(request, values, group_code=group_code)
    kwargs, errors = _kwargs(values)
    if errors:
        return _form(request, values, group_code=group_code, errors=errors, status=422,
                     problem=_("Some fields are not valid; nothing was saved."))
    try:
        if group_code is None:
            group_code = services.group_code_create(corp=actor.corp, actor=actor, **kwargs)
            messages.success(request, _("Group code “%(name)s” created.")
                             % {"name": group_code.name})
        else:
            services.group_code_update(corp=actor.corp, actor=actor, group_code=group_code,
                                       **kwargs)
            messages.success(request, _("Group code “%(name)s” saved.")
                             % {"name": group_code.name})
    except REFUSALS as exc:
        problem, errors, status = refusal(exc)
        return _form(request, values, group_code=group_code, errors=errors, problem=problem,
                     status=status)
    return redirect("acquisition:group_code_detail", pk=group_code.pk)


@require_http_methods(["GET", "POST"])
@console_view(MANAGE)
def group_code_create_view(request):
    if request.method == "POST":
        return _save(request)
    return _form(request, FormValues())


@require_http_methods(["GET", "POST"])
@console_view(MANAGE)
def group_code_edit_view(request, pk):
    group_code = group_code_get_for_manage(request.user, pk)
    if group_code.status != GroupCode.Status.ACTIVE:
        messages.warning(request, _("This group code is disabled; disabled codes cannot be "
                                    "edited."))
        return redirect("acquisition:group_code_detail", pk=group_code.pk)
    if request.method == "POST":
        return _save(request, group_code)
    return _form(request, _values_of(group_code), group_code=group_code)


# -- detail, QR, disable ----------------------------------------------------------------------
@require_GET
@console_view(VIEW)
def group_code_detail_view(request, pk):
    group_code = group_code_get_for(request.user, pk)
    fills = group_code_fill(request.user, group_code)
    context = {"code": group_code, "fills": fills,
               "joined": sum(f.joined for f in fills),
               "present": sum(f.present for f in fills),
               "all_full": bool(fills) and all(f.full for f in fills),
               "can_manage": request.user.has_siyu_perm(MANAGE)}
    return render_page(request, "acquisition/group_codes/detail.html", context)


@require_GET
@console_view(VIEW)
def group_code_qr_view(request, pk):
    """The join way's QR image as PNG: inline for the detail page, ``?download=1`` as a file."""
    group_code = group_code_get_for(request.user, pk)
    try:
        image = qr_image_fetch(group_code.corp, group_code.qr_code)
    except DomainError as exc:
        return qr_error_page(request, group_code, exc,
                             reverse("acquisition:group_code_detail", args=[group_code.pk]))
    return qr_png_response(request, image, fallback=f"group-code-{group_code.pk}",
                           name=group_code.name)


@require_POST
@console_view(MANAGE)
def group_code_disable_view(request, pk):
    group_code = group_code_get_for_manage(request.user, pk)
    try:
        services.group_code_disable(corp=request.user.corp, actor=request.user,
                                    group_code=group_code)
    except Conflict as exc:
        messages.error(request, exc.message)
    except WeComTransientError:
        messages.error(request, _("WeCom is busy or could not be reached. Try again in a "
                                  "minute."))
    else:
        messages.success(request, _("Group code “%(name)s” disabled; its QR code no longer "
                                    "works.") % {"name": group_code.name})
    return redirect("acquisition:group_code_detail", pk=group_code.pk)
