"""Writes for channel live codes: validate everything first, then talk to WeCom outside any
transaction, then store the row, its members and the WeCom ids in one transaction (audited).

A refusal by WeCom leaves nothing written; a failure to store after WeCom accepted a new
contact way removes that contact way again, so WeCom never keeps an orphan."""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from siyu.accounts.models import Department, Employee
from siyu.accounts.scoping import require
from siyu.acquisition.live_codes import rotation
from siyu.acquisition.models import STATE_MAX, LiveCode, LiveCodeMember, LiveCodeTimeSlot
from siyu.acquisition.validation import clean_welcome
from siyu.core.audit import audit_record, diff
from siyu.core.errors import Conflict, ValidationFailed
from siyu.tags.models import Tag
from siyu.wecom.contact_ways import contact_way_delete, contact_way_push

logger = logging.getLogger("siyu.acquisition")
NAME_MAX = 64
PERMISSION = "acquisition.manage"


@dataclass
class _Clean:
    fields: dict
    members: list[dict]
    tags: list


def invalid(field, message, summary=None) -> ValidationFailed:
    """One field's error, as every acquisition service reports bad input."""
    return ValidationFailed(summary or _("Check the highlighted fields."),
                            field_errors={field: [message]})


def clean_name(name, *, limit: int = NAME_MAX) -> str:
    name = (name or "").strip()
    if not name:
        raise invalid("name", _("Required."), _("A name is required."))
    if len(name) > limit:
        raise invalid("name", _("At most %(n)d characters.") % {"n": limit})
    return name


def clean_expiry(expires_at, *, now):
    """None (never expires) or an aware datetime in the future."""
    if expires_at is not None:
        if not isinstance(expires_at, datetime) or timezone.is_naive(expires_at):
            raise invalid("expires_at", _("Give a date and time with a time zone."))
        if expires_at <= now:
            raise invalid("expires_at", _("The expiry must be in the future."))
    return expires_at


def creator_of(actor):
    """The user to store as ``created_by``: None for system actors."""
    return actor if getattr(actor, "pk", None) else None


def _clean_time(value, field):
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise invalid(field, _("Give a time as HH:MM, for example 09:30.")) from None


def _pk(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _clean_members(corp, members) -> list[dict]:
    if not members:
        raise invalid("members", _("Add at least one employee or department."))
    # One query per model, not per member: codes may list dozens of people.
    employees = Employee.objects.for_corp(corp).in_bulk(
        {pk for raw in members if (pk := _pk(raw.get("employee_id")))})
    departments = Department.objects.for_corp(corp).in_bulk(
        {pk for raw in members if (pk := _pk(raw.get("department_id")))})
    clean = []
    for index, raw in enumerate(members):
        employee_id, department_id = raw.get("employee_id"), raw.get("department_id")
        if bool(employee_id) == bool(department_id):
            raise invalid("members", _("Each member is one employee or one department."))
        employee = department = None
        if employee_id:
            employee = employees.get(_pk(employee_id))
            if employee is None:
                raise invalid("members", _("An employee of this code does not exist."))
            if not employee.is_active:
                raise invalid("members", _("%(name)s has resigned; choose an active employee.")
                               % {"name": employee.name})
        else:
            department = departments.get(_pk(department_id))
            if department is None:
                raise invalid("members", _("A department of this code does not exist."))
        cap = raw.get("daily_cap")
        if cap in ("", None):
            cap = None
        else:
            try:
                cap = int(cap)
            except (TypeError, ValueError):
                cap = -1
            if cap < 1:
                raise invalid("members", _("A daily cap is a whole number of at least 1, "
                                            "or empty for no cap."))
        slots = []
        for slot in raw.get("slots") or ():
            weekdays = sorted(set(slot.get("weekdays") or ()))
            if not weekdays or any(not isinstance(d, int) or not 0 <= d <= 6 for d in weekdays):
                raise invalid("slots", _("Choose at least one weekday for each time slot."))
            slots.append({"weekdays": weekdays,
                          "start_time": _clean_time(slot.get("start"), "slots"),
                          "end_time": _clean_time(slot.get("end"), "slots")})
        clean.append({"employee": employee, "department": department, "daily_cap": cap,
                      "is_backup": bool(raw.get("is_backup")),
                      "order": int(raw.get("order", index)), "slots": slots})
    if all(m["is_backup"] for m in clean):
        raise invalid("members", _("Add at least one member who is not a backup."))
    return clean


def _clean(corp, *, name, mode, members, skip_verify, tag_ids, welcome_text,
           welcome_attachments, expires_at, now) -> _Clean:
    name = clean_name(name)
    if mode not in LiveCode.Mode.values:
        raise invalid("mode", _("Choose random, round robin or by time slot."))
    clean_members = _clean_members(corp, members)
    if mode == LiveCode.Mode.TIME_SLOT and not any(m["slots"] for m in clean_members):
        raise invalid("slots", _("Give at least one member a time slot, or choose another "
                                  "assignment mode."))
    tag_ids = list(dict.fromkeys(tag_ids or ()))
    tags = list(Tag.objects.for_corp(corp).filter(pk__in=tag_ids))
    if len(tags) != len(tag_ids):
        raise invalid("tags", _("A chosen tag does not exist; reload the page and choose again."))
    text, attachments = clean_welcome(welcome_text, welcome_attachments)
    expires_at = clean_expiry(expires_at, now=now)
    fields = {"name": name, "mode": mode, "skip_verify": bool(skip_verify),
              "welcome_text": text, "welcome_attachments": attachments, "expires_at": expires_at}
    return _Clean(fields, clean_members, tags)


def best_effort_undo(undo, **kwargs) -> None:
    """Undo a WeCom write after a later step failed. The original error is what the caller
    must see, so a failing undo is logged rather than raised in its place."""
    try:
        undo(**kwargs)
    except Exception:
        logger.exception("Could not undo a WeCom write (%s): %s.", undo.__name__, kwargs)


def new_state() -> str:
    """A state that identifies the code in add_external_contact callbacks (≤30 chars)."""
    state = "lc_" + secrets.token_hex(6)
    assert len(state) <= STATE_MAX
    return state


def _store_members(live_code, members):
    live_code.members.all().delete()
    # bulk_create sets the new pks (RETURNING on PostgreSQL and SQLite ≥3.35), which the
    # time slots need.
    rows = LiveCodeMember.objects.bulk_create([
        LiveCodeMember(corp_id=live_code.corp_id, live_code=live_code, employee=m["employee"],
                       department=m["department"], daily_cap=m["daily_cap"],
                       is_backup=m["is_backup"], order=m["order"])
        for m in members])
    LiveCodeTimeSlot.objects.bulk_create(
        [LiveCodeTimeSlot(corp_id=live_code.corp_id, member=row, **slot)
         for row, m in zip(rows, members, strict=True) for slot in m["slots"]])


def _snapshot(live_code) -> dict:
    return {"name": live_code.name, "mode": live_code.mode, "skip_verify": live_code.skip_verify,
            "welcome_text": live_code.welcome_text,
            "welcome_attachments": len(live_code.welcome_attachments),
            "expires_at": live_code.expires_at, "status": live_code.status}


def _userids_or_refuse(corp, members, mode, *, now, live_code=None) -> list[str]:
    assignment = rotation.assignment_for_members(corp, members, mode, now=now,
                                                 live_code=live_code)
    if not assignment.userids:
        # Saved outside duty hours or with everyone capped: the QR code must still work, so
        # list every active member until the next refresh narrows it down.
        assignment = rotation.assignment_for_members(corp, members, LiveCode.Mode.RANDOM,
                                                     now=now)
    if not assignment.userids:
        raise invalid("members", _("Nobody can take customers now: every member is resigned, "
                                    "capped or off duty. Add an active member or a backup."))
    return list(assignment.userids)


def live_code_create(*, corp, actor, name, mode=LiveCode.Mode.RANDOM, members=(),
                     skip_verify=True, tag_ids=(), welcome_text="", welcome_attachments=(),
                     expires_at=None) -> LiveCode:
    require(actor, PERMISSION)
    now = timezone.now()
    clean = _clean(corp, name=name, mode=mode, members=members, skip_verify=skip_verify,
                   tag_ids=tag_ids, welcome_text=welcome_text,
                   welcome_attachments=welcome_attachments, expires_at=expires_at, now=now)
    state = new_state()
    userids = _userids_or_refuse(corp, clean.members, mode, now=now)
    pushed = contact_way_push(corp=corp, config_id="", state=state, userids=userids,
                              skip_verify=clean.fields["skip_verify"],
                              remark=clean.fields["name"])
    try:
        with transaction.atomic():
            live_code = LiveCode.objects.create(
                corp=corp, state=state, created_by=creator_of(actor),
                wecom_config_id=pushed["config_id"], qr_code=pushed["qr_code"],
                next_refresh_at=rotation.next_refresh_at(clean.members, mode, now=now),
                **clean.fields)
            live_code.tags.set(clean.tags)
            _store_members(live_code, clean.members)
            audit_record(corp=corp, actor=actor, action="live_code.create", obj=live_code,
                         changes={k: [None, v] for k, v in _snapshot(live_code).items()}
                         | {"state": [None, state], "userids": [None, userids]})
    except Exception:
        best_effort_undo(contact_way_delete, corp=corp, config_id=pushed["config_id"])
        raise
    return live_code


def live_code_update(*, corp, actor, live_code: LiveCode, name, mode, members, skip_verify=True,
                     tag_ids=(), welcome_text="", welcome_attachments=(),
                     expires_at=None) -> LiveCode:
    require(actor, PERMISSION)
    if live_code.corp_id != corp.pk:
        raise Conflict(_("This live code belongs to another enterprise."))
    if live_code.status != LiveCode.Status.ACTIVE:
        raise Conflict(_("This live code is disabled; disabled codes cannot be edited."))
    now = timezone.now()
    clean = _clean(corp, name=name, mode=mode, members=members, skip_verify=skip_verify,
                   tag_ids=tag_ids, welcome_text=welcome_text,
                   welcome_attachments=welcome_attachments, expires_at=expires_at, now=now)
    userids = _userids_or_refuse(corp, clean.members, mode, now=now, live_code=live_code)
    contact_way_push(corp=corp, config_id=live_code.wecom_config_id, state=live_code.state,
                     userids=userids, skip_verify=clean.fields["skip_verify"],
                     remark=clean.fields["name"])
    before = _snapshot(live_code)
    with transaction.atomic():
        for key, value in clean.fields.items():
            setattr(live_code, key, value)
        live_code.next_refresh_at = rotation.next_refresh_at(clean.members, mode, now=now)
        live_code.save()
        live_code.tags.set(clean.tags)
        _store_members(live_code, clean.members)
        audit_record(corp=corp, actor=actor, action="live_code.update", obj=live_code,
                     changes=diff(before, _snapshot(live_code)))
    return live_code


def live_code_disable(*, corp, actor, live_code: LiveCode) -> LiveCode:
    """Deletes the contact way in WeCom (its QR code stops working) and keeps the row for
    attribution and statistics."""
    require(actor, PERMISSION)
    if live_code.corp_id != corp.pk:
        raise Conflict(_("This live code belongs to another enterprise."))
    if live_code.status == LiveCode.Status.DISABLED:
        return live_code
    contact_way_delete(corp=corp, config_id=live_code.wecom_config_id)
    with transaction.atomic():
        live_code.status = LiveCode.Status.DISABLED
        live_code.save(update_fields=["status", "updated_at"])
        audit_record(corp=corp, actor=actor, action="live_code.disable", obj=live_code,
                     changes={"status": [LiveCode.Status.ACTIVE, LiveCode.Status.DISABLED]})
    return live_code



def live_code_refresh(*, live_code: LiveCode, now=None) -> tuple[str, ...]:
    """Point the contact way at whoever should take customers now: the next round-robin turn,
    without capped employees, within duty hours. A system action (after an add, at a slot edge);
    returns the userids pushed, or ``()`` when nothing was pushed. When nobody is eligible the
    current list stays: WeCom needs at least one user, and a full queue beats a dead QR code."""
    if live_code.status != LiveCode.Status.ACTIVE or not live_code.wecom_config_id:
        return ()
    now = now or timezone.now()
    corp = live_code.corp
    members = rotation.members_from_rows(corp, live_code)
    chosen = rotation.assignment_for_members(corp, members, live_code.mode, now=now,
                                             live_code=live_code)
    if not chosen.userids:
        return ()
    contact_way_push(corp=corp, config_id=live_code.wecom_config_id, state=live_code.state,
                     userids=list(chosen.userids), skip_verify=live_code.skip_verify,
                     remark=live_code.name)
    return chosen.userids


def live_codes_expire(*, now=None) -> int:
    """Disable every active code whose expiry has passed (their contact ways are deleted, so
    the QR codes stop working). Runs as a periodic hook in every worker: the status change is
    a conditional UPDATE and a contact way already deleted counts as deleted, so concurrent
    runs do each code once."""
    now = now or timezone.now()
    due = list(LiveCode.objects.unscoped().select_related("corp")
               .filter(status=LiveCode.Status.ACTIVE, expires_at__lte=now)[:100])
    expired = 0
    for live_code in due:
        contact_way_delete(corp=live_code.corp, config_id=live_code.wecom_config_id)
        with transaction.atomic():
            changed = (LiveCode.objects.for_corp(live_code.corp_id)
                       .filter(pk=live_code.pk, status=LiveCode.Status.ACTIVE)
                       .update(status=LiveCode.Status.DISABLED, updated_at=now))
            if changed:
                audit_record(corp=live_code.corp, actor=None, action="live_code.expire",
                             obj=live_code,
                             changes={"status": [LiveCode.Status.ACTIVE,
                                                 LiveCode.Status.DISABLED]})
                expired += changed
    return expired
