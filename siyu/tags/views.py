"""Console page for tag groups and tags (A3).

Everyone with ``tags.view`` reads the board; ``tags.manage`` creates, renames and deletes inline
with htmx. Each write goes through siyu.tags.services; an htmx request gets back the one group
card it changed (with the service's field errors next to the input that caused them), a plain
form post gets the whole page.
"""

from dataclasses import dataclass, field

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from siyu.console.access import console_view, render_page
from siyu.core.errors import Conflict, ValidationFailed
from siyu.tags import services
from siyu.tags.forms import TagNameForm
from siyu.tags.selectors import tag_get_for, tag_group_get_for, tag_groups_with_usage_for

SERVICE_ERRORS = (ValidationFailed, Conflict)


@dataclass(frozen=True)
class FormError:
    """Which inline form failed, the service's messages, and what was typed (kept in the input)."""

    form: str  # "new_group" | "rename_group" | "new_tag" | "rename_tag"
    group_id: int | None = None
    tag_id: int | None = None
    message: str = ""
    fields: dict = field(default_factory=dict)
    value: str = ""


def _form_error(exc, form: str, *, value: str, group_id=None, tag_id=None) -> FormError:
    fields = exc.field_errors
    if isinstance(exc, Conflict):
        # A conflict's message names the clash ("The group already has a tag “VIP”."), which
        # the bare field hint ("Choose another name.") does not; show both beside the input.
        fields = {name: [exc.message, *msgs] for name, msgs in fields.items()}
    return FormError(form, group_id=group_id, tag_id=tag_id, message=exc.message,
                     fields=fields, value=value)


def _posted_name(request) -> str:
    form = TagNameForm(request.POST)
    form.is_valid()
    return form.cleaned_data.get("name", "")


def _board(request, error: FormError | None = None) -> dict:
    return {"groups": tag_groups_with_usage_for(request.user),
            "can_manage": request.user.has_siyu_perm("tags.manage"), "err": error}


def _group_response(request, group_id, error: FormError | None = None):
    """The changed group's card for htmx; otherwise the page (errors) or a redirect (success)."""
    if not request.htmx:
        if error:
            return render(request, "tags/list.html", _board(request, error), status=422)
        return redirect("tags:list")
    group = tag_groups_with_usage_for(request.user).filter(pk=group_id).first()
    return render(request, "tags/_group_response.html",
                  {"group": group, "can_manage": True, "err": error},
                  status=422 if error else 200)


@require_GET
@console_view("tags.view")
def tag_list_view(request):
    return render_page(request, "tags/list.html", _board(request))


@require_POST
@console_view("tags.manage")
def group_create_view(request):
    name = _posted_name(request)
    try:
        group = services.tag_group_create(corp=request.user.corp, actor=request.user, name=name)
    except SERVICE_ERRORS as exc:
        error = _form_error(exc, "new_group", value=name)
        if not request.htmx:
            return render(request, "tags/list.html", _board(request, error), status=422)
        return render(request, "tags/_new_group.html", {"err": error}, status=422)
    messages.success(request, _("Tag group “%(name)s” created.") % {"name": group.name})
    if not request.htmx:
        return redirect("tags:list")
    group = tag_groups_with_usage_for(request.user).filter(pk=group.pk).first()
    return render(request, "tags/_group_created.html", {"group": group, "can_manage": True})


@require_POST
@console_view("tags.manage")
def group_rename_view(request, pk):
    group = tag_group_get_for(request.user, pk, "tags.manage")
    name = _posted_name(request)
    try:
        services.tag_group_update(corp=request.user.corp, actor=request.user, group=group,
                                  name=name)
    except SERVICE_ERRORS as exc:
        return _group_response(request, group.pk, _form_error(
            exc, "rename_group", value=name, group_id=group.pk))
    messages.success(request, _("Tag group renamed to “%(name)s”.") % {"name": group.name})
    return _group_response(request, group.pk)


@require_POST
@console_view("tags.manage")
def group_delete_view(request, pk):
    group = tag_group_get_for(request.user, pk, "tags.manage")
    name = group.name
    services.tag_group_delete(corp=request.user.corp, actor=request.user, group=group)
    messages.success(request, _("Tag group “%(name)s” and its tags deleted.") % {"name": name})
    if not request.htmx:
        return redirect("tags:list")
    # The card is swapped for nothing; only the toast comes back.
    return render(request, "console/_messages_oob.html", {})


@require_POST
@console_view("tags.manage")
def tag_create_view(request, pk):
    group = tag_group_get_for(request.user, pk, "tags.manage")
    name = _posted_name(request)
    try:
        tag = services.tag_create(corp=request.user.corp, actor=request.user, group=group,
                                  name=name)
    except SERVICE_ERRORS as exc:
        return _group_response(request, group.pk, _form_error(
            exc, "new_tag", value=name, group_id=group.pk))
    messages.success(request, _("Tag “%(name)s” added.") % {"name": tag.name})
    return _group_response(request, group.pk)


@require_POST
@console_view("tags.manage")
def tag_rename_view(request, pk):
    tag = tag_get_for(request.user, pk, "tags.manage")
    name = _posted_name(request)
    try:
        services.tag_update(corp=request.user.corp, actor=request.user, tag=tag, name=name)
    except SERVICE_ERRORS as exc:
        return _group_response(request, tag.group_id, _form_error(
            exc, "rename_tag", value=name, group_id=tag.group_id, tag_id=tag.pk))
    messages.success(request, _("Tag renamed to “%(name)s”.") % {"name": tag.name})
    return _group_response(request, tag.group_id)


@require_POST
@console_view("tags.manage")
def tag_delete_view(request, pk):
    tag = tag_get_for(request.user, pk, "tags.manage")
    name, group_id = tag.name, tag.group_id
    services.tag_delete(corp=request.user.corp, actor=request.user, tag=tag)
    messages.success(request, _("Tag “%(name)s” deleted.") % {"name": name})
    return _group_response(request, group_id)
