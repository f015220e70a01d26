"""The live code form's fields, parsed into the keyword arguments of
``services.live_code_create/update``, and a saved code turned back into form values.

The form posts one row per member (``members-<i>-who`` = "employee:<id>" or
"department:<id>", ``-daily_cap``, ``-is_backup``, ``-order``) and, in time-slot mode, its slots
(``members-<i>-slots-<j>-weekdays`` (several), ``-start``, ``-end``). Row numbers may have gaps
(rows removed in the browser); rows are taken in numeric order. Blank rows are left out. The
welcome is the engagement welcome editor's (prefix "welcome"). What this module cannot parse is
reported under the service's field names, so every message lands next to the same field."""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from siyu.acquisition.models import LiveCode
from siyu.core.errors import ValidationFailed

WELCOME_PREFIX = "welcome"
MEMBER_PATTERN = re.compile(r"^members-(\d+)-who$")
SLOT_PATTERN = re.compile(r"^members-(\d+)-slots-(\d+)-(weekdays|start|end)$")
EXPIRY_INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> posts


@dataclass
class LiveCodeValues:
    """What the form shows: as typed after a failed save, or as stored when editing."""

    name: str = ""
    mode: str = LiveCode.Mode.RANDOM
    skip_verify: bool = True
    tag_ids: list[int] = field(default_factory=list)
    welcome_text: str = ""
    welcome_attachments: list = field(default_factory=list)
    expires_at: str = ""  # as the datetime-local input takes it
    members: list[dict] = field(default_factory=list)


@dataclass
class Parsed:
    values: LiveCodeValues
    kwargs: dict
    errors: dict[str, list[str]]


def _add(errors: dict, name: str, message: str) -> None:
    messages = errors.setdefault(name, [])
    if message not in messages:
        messages.append(message)


def _slots(post, number: int) -> list[dict]:
    rows: dict[int, dict] = {}
    for name in post:
        match = SLOT_PATTERN.match(name)
        if match and int(match.group(1)) == number:
            rows.setdefault(int(match.group(2)), {})
    slots = []
    for slot_number in sorted(rows):
        base = f"members-{number}-slots-{slot_number}"
        weekdays = [int(d) for d in post.getlist(f"{base}-weekdays") if d.isdigit()]
        start = (post.get(f"{base}-start") or "").strip()
        end = (post.get(f"{base}-end") or "").strip()
        if weekdays or start or end:
            slots.append({"weekdays": weekdays, "start": start, "end": end})
    return slots


def _member(post, number: int, position: int, time_slots: bool, errors: dict) -> dict | None:
    base = f"members-{number}"
    who = (post.get(f"{base}-who") or "").strip()
    cap = (post.get(f"{base}-daily_cap") or "").strip()
    order = (post.get(f"{base}-order") or "").strip()
    row = {"who": who, "daily_cap": cap, "is_backup": bool(post.get(f"{base}-is_backup")),
           "order": order, "slots": _slots(post, number) if time_slots else []}
    if not (who or cap or row["slots"]):
        return None  # a blank row, as added and left
    kind, _sep, pk = who.partition(":")
    if kind not in ("employee", "department") or not pk.isdigit():
        _add(errors, "members", _("Choose an employee or a department for each member."))
    if order and not re.fullmatch(r"-?\d+", order):
        _add(errors, "members", _("An order is a whole number, for example 1."))
    row["position"] = position
    return row


def _service_member(row: dict) -> dict:
    kind, _sep, pk = row["who"].partition(":")
    order = int(row["order"]) if re.fullmatch(r"-?\d+", row["order"] or "") else row["position"]
    return {f"{kind}_id": int(pk), "daily_cap": row["daily_cap"] or None,
            "is_backup": row["is_backup"], "order": order, "slots": row["slots"]}


def _expiry(raw: str, errors: dict):
    if not raw:
        return None
    try:
        naive = datetime.strptime(raw, EXPIRY_INPUT_FORMAT)
    except ValueError:
        _add(errors, "expires_at", _("Give a date and time, for example 2025-12-31 23:59."))
        return None
    return timezone.make_aware(naive, timezone.get_current_timezone())


def parse_live_code_post(post, welcome_from_post) -> Parsed:
    """Form values, service kwargs and the errors found before the service's own checks.
    ``welcome_from_post`` is the welcome editor's parser (passed in: only views may use
    another app's form code)."""
    errors: dict[str, list[str]] = {}
    mode = (post.get("mode") or "").strip()
    time_slots = mode == LiveCode.Mode.TIME_SLOT
    numbers = sorted(int(m.group(1)) for name in post if (m := MEMBER_PATTERN.match(name)))
    rows = [row for position, number in enumerate(numbers)
            if (row := _member(post, number, position, time_slots, errors)) is not None]
    tag_ids = [int(v) for v in post.getlist("tag_ids") if v.isdigit()]
    if len(tag_ids) != len(post.getlist("tag_ids")):
        _add(errors, "tags", _("A chosen tag does not exist; reload the page and choose again."))
    try:
        text, attachments = welcome_from_post(post, WELCOME_PREFIX)
    except ValidationFailed as exc:  # the editor's, carrying the content as typed
        errors.update(exc.field_errors)
        text, attachments = getattr(exc, "text", ""), getattr(exc, "attachments", [])
    raw_expiry = (post.get("expires_at") or "").strip()
    expires_at = _expiry(raw_expiry, errors)
    values = LiveCodeValues(
        name=post.get("name") or "", mode=mode, skip_verify=bool(post.get("skip_verify")),
        tag_ids=tag_ids, welcome_text=text, welcome_attachments=attachments,
        expires_at=raw_expiry, members=rows)
    kwargs = {}
    if not errors:
        kwargs = {"name": values.name, "mode": mode,
                  "members": [_service_member(r) for r in rows],
                  "skip_verify": values.skip_verify, "tag_ids": tag_ids,
                  "welcome_text": text, "welcome_attachments": attachments,
                  "expires_at": expires_at}
    return Parsed(values, kwargs, errors)


def values_of(live_code: LiveCode) -> LiveCodeValues:
    """A stored code as the form shows it."""
    members = []
    for position, member in enumerate(live_code.members.all()):
        who = (f"employee:{member.employee_id}" if member.employee_id
               else f"department:{member.department_id}")
        members.append({
            "who": who, "daily_cap": "" if member.daily_cap is None else str(member.daily_cap),
            "is_backup": member.is_backup, "order": str(member.order), "position": position,
            "slots": [{"weekdays": list(slot.weekdays),
                       "start": slot.start_time.strftime("%H:%M"),
                       "end": slot.end_time.strftime("%H:%M")}
                      for slot in member.time_slots.all()]})
    expires = ""
    if live_code.expires_at:
        expires = timezone.localtime(live_code.expires_at).strftime(EXPIRY_INPUT_FORMAT)
    return LiveCodeValues(
        name=live_code.name, mode=live_code.mode, skip_verify=live_code.skip_verify,
        tag_ids=[t.pk for t in live_code.tags.all()], welcome_text=live_code.welcome_text,
        welcome_attachments=list(live_code.welcome_attachments), expires_at=expires,
        members=members)
