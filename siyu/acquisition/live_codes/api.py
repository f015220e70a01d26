"""REST endpoints for channel live codes: /api/v1/live-codes…

Reading follows ``selectors.live_codes_for`` (admins and managers: every code of the
enterprise; others: the codes they take customers from). Writing needs ``acquisition.manage``
and goes through ``services``, which validate everything (the welcome by the engagement rules)
before WeCom's contact way is touched, so a refused request changes nothing anywhere.
"""

import datetime
from typing import Any, Literal

from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from siyu.acquisition.live_codes.selectors import (
    live_code_get_for,
    live_code_get_for_manage,
    live_codes_for,
)
from siyu.acquisition.live_codes.services import (
    live_code_create,
    live_code_disable,
    live_code_update,
)
from siyu.acquisition.models import LiveCode, LiveCodeMember
from siyu.core.api_support import (
    READ_ERRORS,
    WRITE_ERRORS,
    ObjectId,
    Page,
    PageQuery,
    cursor_page,
)
from siyu.core.errors import ValidationFailed

router = Router(tags=["live codes"])

Mode = Literal["random", "round_robin", "time_slot"]


# --- schemas --------------------------------------------------------------------------------


class TimeSlotIn(Schema):
    model_config = ConfigDict(extra="forbid")

    weekdays: list[int] = Field(..., description="Monday = 0 … Sunday = 6 (China time).")
    start: datetime.time = Field(..., description="HH:MM, for example 09:00.")
    end: datetime.time = Field(..., description="HH:MM; at or before start crosses midnight.")


class MemberIn(Schema):
    model_config = ConfigDict(extra="forbid")

    employee_id: ObjectId | None = Field(None, description="An employee, or …")
    department_id: ObjectId | None = Field(None, description="… a department (not both).")
    daily_cap: int | None = Field(None, description="Customers per China day; null: no cap.")
    is_backup: bool = Field(False, description="Takes customers only when nobody else can.")
    slots: list[TimeSlotIn] = Field([], description="Duty hours (mode time_slot).")


class LiveCodeFieldsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    skip_verify: bool = Field(True, description="Customers are added without confirmation.")
    tag_ids: list[ObjectId] = Field([], max_length=100,
                                    description="Tags applied to every customer of the code.")
    welcome_text: str = Field("", description="At most 4000 bytes; placeholders "
                                              "{customer_name} and {employee_name}.")
    welcome_attachments: list[dict[str, Any]] = Field(
        [], description="At most 9, shaped as WeCom's send_welcome_msg attachments, e.g. "
                        '{"msgtype": "link", "link": {"title": "…", "url": "…"}}.')
    expires_at: datetime.datetime | None = Field(
        None, description="With a time zone; the code is disabled when it passes.")


class LiveCodeIn(LiveCodeFieldsIn):
    name: str = Field(..., description="At most 64 characters.")
    mode: Mode = "random"
    members: list[MemberIn] = Field(..., max_length=100,
                                    description="In order; round robin follows it.")


class LiveCodePatchIn(Schema):
    """Any subset of LiveCodeIn's fields; the others keep their values."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    mode: Mode | None = None
    members: list[MemberIn] | None = Field(None, max_length=100)
    skip_verify: bool | None = None
    tag_ids: list[ObjectId] | None = Field(None, max_length=100)
    welcome_text: str | None = None
    welcome_attachments: list[dict[str, Any]] | None = None
    expires_at: datetime.datetime | None = None


class LiveCodeListQuery(PageQuery):
    status: Literal["active", "disabled"] | None = None
    q: str = Field("", max_length=64, description="Part of the name.")


class TimeSlotOut(Schema):
    weekdays: list[int]
    start: str
    end: str


class MemberOut(Schema):
    id: int
    employee_id: int | None
    employee_name: str | None
    department_id: int | None
    department_name: str | None
    daily_cap: int | None
    is_backup: bool
    order: int
    slots: list[TimeSlotOut]


class TagOut(Schema):
    id: int
    name: str


class LiveCodeOut(Schema):
    id: int
    name: str
    state: str
    mode: str
    status: str
    skip_verify: bool
    qr_code: str
    expires_at: datetime.datetime | None
    tags: list[TagOut]
    members: list[MemberOut]
    welcome_text: str
    welcome_attachments: list[dict[str, Any]]
    created_at: datetime.datetime
    updated_at: datetime.datetime


class LiveCodePage(Page):
    items: list[LiveCodeOut]


# --- shaping --------------------------------------------------------------------------------

# The service names a few fields after the model; callers know the body's names.
_FIELD_NAMES = {"tags": "tag_ids"}


def _hhmm(value: datetime.time) -> str:
    return value.strftime("%H:%M")


def _with_details(queryset):
    members = LiveCodeMember.objects.select_related("employee", "department").prefetch_related(
        "time_slots")
    return queryset.prefetch_related(Prefetch("members", queryset=members), "tags")


def _out(live_code: LiveCode) -> dict:
    fields = ("id", "name", "state", "mode", "status", "skip_verify", "qr_code", "expires_at",
              "welcome_text", "welcome_attachments", "created_at", "updated_at")
    out = {name: getattr(live_code, name) for name in fields}
    out["tags"] = [{"id": tag.pk, "name": tag.name} for tag in live_code.tags.all()]
    out["members"] = [{
        "id": m.pk, "employee_id": m.employee_id,
        "employee_name": m.employee.name if m.employee else None,
        "department_id": m.department_id,
        "department_name": m.department.name if m.department else None,
        "daily_cap": m.daily_cap, "is_backup": m.is_backup, "order": m.order,
        "slots": [{"weekdays": s.weekdays, "start": _hhmm(s.start_time),
                   "end": _hhmm(s.end_time)} for s in m.time_slots.all()],
    } for m in live_code.members.all()]
    return out


def _detail(actor, live_code_id: int) -> dict:
    return _out(_with_details(live_codes_for(actor)).get(pk=live_code_id))


def _members_in(members: list[MemberIn]) -> list[dict]:
    """The service's member dicts, in the order given."""
    return [{"employee_id": m.employee_id, "department_id": m.department_id,
             "daily_cap": m.daily_cap, "is_backup": m.is_backup, "order": index,
             "slots": [{"weekdays": s.weekdays, "start": s.start, "end": s.end}
                       for s in m.slots]}
            for index, m in enumerate(members)]


def _members_of(live_code: LiveCode) -> list[dict]:
    """The stored members as service input, for a PATCH that leaves them alone."""
    return [{"employee_id": m.employee_id, "department_id": m.department_id,
             "daily_cap": m.daily_cap, "is_backup": m.is_backup, "order": m.order,
             "slots": [{"weekdays": s.weekdays, "start": s.start_time, "end": s.end_time}
                       for s in m.time_slots.all()]}
            for m in live_code.members.all()]


def _current(live_code: LiveCode) -> dict:
    return {"name": live_code.name, "mode": live_code.mode, "members": _members_of(live_code),
            "skip_verify": live_code.skip_verify,
            "tag_ids": [tag.pk for tag in live_code.tags.all()],
            "welcome_text": live_code.welcome_text,
            "welcome_attachments": live_code.welcome_attachments,
            "expires_at": live_code.expires_at}


def _renamed(error: ValidationFailed) -> ValidationFailed:
    if not set(error.field_errors) & set(_FIELD_NAMES):
        return error
    return ValidationFailed(error.message, field_errors={
        _FIELD_NAMES.get(name, name): messages for name, messages in error.field_errors.items()})


def _save(request, payload: dict, live_code: LiveCode | None = None) -> LiveCode:
    actor = request.user
    try:
        if live_code is None:
            return live_code_create(corp=actor.corp, actor=actor, **payload)
        return live_code_update(corp=actor.corp, actor=actor, live_code=live_code, **payload)
    except ValidationFailed as error:
        raise _renamed(error) from error


# --- endpoints ------------------------------------------------------------------------------


@router.get("/live-codes", response={200: LiveCodePage, **READ_ERRORS})
def list_live_codes(request, query: Query[LiveCodeListQuery]):
    """Channel live codes you can see, newest first; follow ``next_cursor`` for more."""
    codes = live_codes_for(request.user)
    if query.status:
        codes = codes.filter(status=query.status)
    if query.q:
        codes = codes.filter(Q(name__icontains=query.q))
    rows, next_cursor = cursor_page(_with_details(codes), cursor=query.cursor,
                                    limit=query.limit)
    return {"items": [_out(code) for code in rows], "next_cursor": next_cursor}


@router.post("/live-codes", response={201: LiveCodeOut, **WRITE_ERRORS})
def create_live_code(request, payload: LiveCodeIn):
    """Creates the code and its WeCom contact way (permission ``acquisition.manage``)."""
    data = payload.model_dump()
    data["members"] = _members_in(payload.members)
    live_code = _save(request, data)
    return Status(201, _detail(request.user, live_code.pk))


@router.get("/live-codes/{live_code_id}", response={200: LiveCodeOut, **READ_ERRORS})
def get_live_code(request, live_code_id: ObjectId):
    live_code = live_code_get_for(request.user, live_code_id)
    return _detail(request.user, live_code.pk)


@router.put("/live-codes/{live_code_id}", response={200: LiveCodeOut, **WRITE_ERRORS})
def replace_live_code(request, live_code_id: ObjectId, payload: LiveCodeIn):
    """Replaces every field; fields left out take their defaults. Disabled codes: 409."""
    live_code = live_code_get_for_manage(request.user, live_code_id)
    data = payload.model_dump()
    data["members"] = _members_in(payload.members)
    _save(request, data, live_code)
    return _detail(request.user, live_code.pk)


@router.patch("/live-codes/{live_code_id}", response={200: LiveCodeOut, **WRITE_ERRORS})
def update_live_code(request, live_code_id: ObjectId, payload: LiveCodePatchIn):
    """Changes only the fields sent (``members`` replaces the whole list)."""
    actor = request.user
    live_code = live_code_get_for_manage(actor, live_code_id)
    sent = payload.model_dump(exclude_unset=True)
    nulls = sorted(name for name, value in sent.items()
                   if value is None and name != "expires_at")
    if nulls:
        raise ValidationFailed(_("Some fields cannot be null; nothing was saved."),
                               field_errors={name: [_("Leave the field out to keep its value.")]
                                             for name in nulls})
    if payload.members is not None:
        sent["members"] = _members_in(payload.members)
    current = _current(_with_details(live_codes_for(actor)).get(pk=live_code.pk))
    _save(request, current | sent, live_code)
    return _detail(actor, live_code.pk)


@router.post("/live-codes/{live_code_id}/disable", response={200: LiveCodeOut, **WRITE_ERRORS})
def disable_live_code(request, live_code_id: ObjectId):
    """Deletes the WeCom contact way (the QR code stops working); the code and its
    statistics stay. Disabling a disabled code changes nothing."""
    actor = request.user
    live_code = live_code_get_for_manage(actor, live_code_id)
    live_code_disable(corp=actor.corp, actor=actor, live_code=live_code)
    return _detail(actor, live_code.pk)
