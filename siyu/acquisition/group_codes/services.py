"""Writes for group live codes (群活码, B3): validate everything first, then talk to WeCom
outside any transaction, then store the code and its ordered groups in one transaction
(audited).

The join way lists the next (at most 5) groups of the code, in order, that are below the
member limit. ``group_code_advance`` recomputes that list whenever a group's membership changes
(the change_external_chat handlers call ``group_codes_for_group_changed``) and updates the join
way when the list differs, so the code moves on as soon as a group is full. Groups WeCom creates
for a code (``auto_create_room``) are appended to the code when their first member joins with
the code's state.

A refusal by WeCom leaves nothing written; a failure after WeCom created the join way (or the
welcome template) removes it again, so WeCom never keeps an orphan."""

import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from siyu.accounts.scoping import require
from siyu.acquisition.live_codes.services import (
    best_effort_undo,
    clean_expiry,
    clean_name,
    creator_of,
    invalid,
)
from siyu.acquisition.models import STATE_MAX, GroupCode, GroupCodeGroup
from siyu.core.audit import audit_record, diff
from siyu.core.errors import Conflict, ValidationFailed
from siyu.engagement.welcome import PLACEHOLDERS, TEXT_MAX_BYTES, attachments_errors
from siyu.groups.models import CustomerGroup, GroupMember
from siyu.wecom.errors import WeComError, WeComTransientError
from siyu.wecom.join_ways import (
    CHATS_MAX,
    ROOM_BASE_NAME_MAX,
    group_welcome_delete,
    group_welcome_push,
    join_way_delete,
    join_way_push,
)

log = logging.getLogger(__name__)

PERMISSION = "acquisition.manage"
NAME_MAX = 64
GROUPS_MAX = 100  # groups per code; the join way itself lists the next 5
MEMBER_LIMIT_MAX = 500  # WeCom's largest customer groups
ROOM_BASE_ID_MAX = 1_000_000
STATE_PREFIX = "gc_"


@dataclass
class _Clean:
    fields: dict
    groups: list


def default_member_limit() -> int:
    return int(getattr(settings, "SIYU_GROUP_CODE_MEMBER_LIMIT", 200))


def new_state() -> str:
    """A state that identifies the code on the members who join through it (≤30 chars)."""
    state = STATE_PREFIX + secrets.token_hex(6)
    assert len(state) <= STATE_MAX
    return state


def _clean_groups(corp, group_ids) -> list:
    try:
        ids = [int(g) for g in group_ids or ()]
    except (TypeError, ValueError):
        raise invalid("group_ids", _("Choose groups from the list.")) from None
    if not ids:
        raise invalid("group_ids", _("Choose at least one customer group."))
    if len(set(ids)) != len(ids):
        raise invalid("group_ids", _("A group is listed twice; list each group once."))
    if len(ids) > GROUPS_MAX:
        raise invalid("group_ids", _("At most %(n)d groups per code.") % {"n": GROUPS_MAX})
    found = CustomerGroup.objects.for_corp(corp).in_bulk(ids)
    groups = []
    for pk in ids:
        group = found.get(pk)
        if group is None:
            raise invalid("group_ids", _("A chosen group does not exist; reload the page and "
                                          "choose again."))
        if group.status != CustomerGroup.Status.ACTIVE:
            raise invalid("group_ids", _("%(name)s has been dismissed; choose an active group.")
                           % {"name": group.name or group.chat_id})
        groups.append(group)
    return groups


def _clean_member_limit(value) -> int:
    if value in (None, ""):
        return default_member_limit()
    try:
        limit = int(value)
    except (TypeError, ValueError):
        limit = 0
    if not 1 <= limit <= MEMBER_LIMIT_MAX:
        raise invalid("member_limit", _("Give a whole number from 1 to %(max)d.")
                       % {"max": MEMBER_LIMIT_MAX})
    return limit


def _clean_room(auto_create_room, room_base_name, room_base_id) -> dict:
    if not auto_create_room:
        return {"auto_create_room": False, "room_base_name": "", "room_base_id": None}
    name = (room_base_name or "").strip()
    if not name:
        raise invalid("room_base_name", _("Give the name of the groups WeCom creates, for "
                                           "example “Live stream fans ”."))
    if len(name) > ROOM_BASE_NAME_MAX:
        raise invalid("room_base_name", _("At most %(n)d characters.")
                       % {"n": ROOM_BASE_NAME_MAX})
    if room_base_id in (None, ""):
        number = None
    else:
        try:
            number = int(room_base_id)
        except (TypeError, ValueError):
            number = -1
        if not 0 <= number <= ROOM_BASE_ID_MAX:
            raise invalid("room_base_id", _("Give a whole number from 0 to %(max)d, or leave "
                                             "it empty to start at 1.")
                           % {"max": ROOM_BASE_ID_MAX})
    return {"auto_create_room": True, "room_base_name": name, "room_base_id": number}


def _clean_welcome(text, attachment) -> tuple[str, dict | None]:
    """WeCom's group welcome template: text ≤4000 bytes and at most one attachment of the
    kinds (and fields) siyu.engagement.welcome accepts for welcome messages."""
    text = (text or "").strip()
    size = len(text.encode("utf-8"))
    if size > TEXT_MAX_BYTES:
        raise invalid("welcome_text", _("The text is %(size)d bytes long; WeCom accepts at "
                                         "most %(max)d bytes (a Chinese character takes 3). "
                                         "Shorten it.") % {"size": size, "max": TEXT_MAX_BYTES})
    for name in PLACEHOLDERS:
        if "{" + name + "}" in text:
            raise invalid("welcome_text", _("Group welcome messages cannot fill {%(name)s}; "
                                             "write %%NICKNAME%% to greet the new member by "
                                             "nickname.") % {"name": name})
    if isinstance(attachment, list | tuple):
        if len(attachment) > 1:
            raise invalid("welcome_attachment", _("A group welcome message takes at most one "
                                                   "attachment."))
        attachment = attachment[0] if attachment else None
    if attachment in (None, {}):
        return text, None
    if errors := attachments_errors([attachment]):
        raise ValidationFailed(_("The group welcome attachment is not valid."),
                               field_errors={"welcome_attachment": errors})
    return text, attachment


def _clean(corp, *, name, group_ids, member_limit, auto_create_room, room_base_name,
           room_base_id, welcome_text, welcome_attachment, expires_at, now) -> _Clean:
    name = clean_name(name, limit=NAME_MAX)
    groups = _clean_groups(corp, group_ids)
    limit = _clean_member_limit(member_limit)
    room = _clean_room(auto_create_room, room_base_name, room_base_id)
    text, attachment = _clean_welcome(welcome_text, welcome_attachment)
    expires_at = clean_expiry(expires_at, now=now)
    if not room["auto_create_room"] and all(g.member_count >= limit for g in groups):
        raise invalid("group_ids", _("Every chosen group already has %(limit)d members or "
                                      "more: add a group with room, raise the limit or let "
                                      "WeCom create groups.") % {"limit": limit})
    fields = {"name": name, "member_limit": limit, **room, "welcome_text": text,
              "welcome_attachment": attachment, "expires_at": expires_at}
    return _Clean(fields, groups)


def open_chat_ids(groups, member_limit: int) -> list[str]:
    """What the join way lists: the first (at most 5) active groups, in the code's order,
    below the limit. With none left, the last group: WeCom needs one, and with
    ``auto_create_room`` it creates the next group once that one is full in WeCom's terms."""
    active = [g for g in groups if g.status == CustomerGroup.Status.ACTIVE]
    below = [g.chat_id for g in active if g.member_count < member_limit]
    if below:
        return below[:CHATS_MAX]
    return [active[-1].chat_id] if active else []


def _push_join_way(corp, *, config_id, state, chat_ids, fields) -> dict:
    return join_way_push(corp=corp, config_id=config_id, state=state, chat_ids=chat_ids,
                         remark=fields["name"], auto_create_room=fields["auto_create_room"],
                         room_base_name=fields["room_base_name"],
                         room_base_id=fields["room_base_id"])


def _has_welcome(fields) -> bool:
    return bool(fields["welcome_text"] or fields["welcome_attachment"])


def _store_groups(group_code, groups) -> None:
    group_code.entries.all().delete()
    GroupCodeGroup.objects.bulk_create(
        [GroupCodeGroup(corp_id=group_code.corp_id, group_code=group_code, group=group,
                        order=order) for order, group in enumerate(groups)])


def _snapshot(group_code) -> dict:
    return {"name": group_code.name, "member_limit": group_code.member_limit,
            "auto_create_room": group_code.auto_create_room,
            "room_base_name": group_code.room_base_name,
            "room_base_id": group_code.room_base_id, "welcome_text": group_code.welcome_text,
            "welcome_attachment": (group_code.welcome_attachment or {}).get("msgtype"),
            "expires_at": group_code.expires_at, "status": group_code.status}


def group_code_create(*, corp, actor, name, group_ids, member_limit=None, auto_create_room=False,
                      room_base_name="", room_base_id=None, welcome_text="",
                      welcome_attachment=None, expires_at=None) -> GroupCode:
    require(actor, PERMISSION)
    clean = _clean(corp, name=name, group_ids=group_ids, member_limit=member_limit,
                   auto_create_room=auto_create_room, room_base_name=room_base_name,
                   room_base_id=room_base_id, welcome_text=welcome_text,
                   welcome_attachment=welcome_attachment, expires_at=expires_at,
                   now=timezone.now())
    state = new_state()
    chat_ids = open_chat_ids(clean.groups, clean.fields["member_limit"])
    pushed = _push_join_way(corp, config_id="", state=state, chat_ids=chat_ids,
                            fields=clean.fields)
    template_id = ""
    try:
        if _has_welcome(clean.fields):
            template_id = group_welcome_push(corp=corp, template_id="",
                                             text=clean.fields["welcome_text"],
                                             attachment=clean.fields["welcome_attachment"])
        with transaction.atomic():
            group_code = GroupCode.objects.create(
                corp=corp, state=state, created_by=creator_of(actor),
                wecom_config_id=pushed["config_id"], qr_code=pushed["qr_code"],
                wecom_template_id=template_id, wecom_chat_ids=chat_ids, **clean.fields)
            _store_groups(group_code, clean.groups)
            audit_record(corp=corp, actor=actor, action="group_code.create", obj=group_code,
                         changes={k: [None, v] for k, v in _snapshot(group_code).items()}
                         | {"state": [None, state],
                            "groups": [None, [g.chat_id for g in clean.groups]]})
    except BaseException:
        best_effort_undo(join_way_delete, corp=corp, config_id=pushed["config_id"])
        if template_id:
            best_effort_undo(group_welcome_delete, corp=corp, template_id=template_id)
        raise
    return group_code


def _check_editable(corp, group_code) -> None:
    if group_code.corp_id != corp.pk:
        raise Conflict(_("This group code belongs to another enterprise."))
    if group_code.status != GroupCode.Status.ACTIVE:
        raise Conflict(_("This group code is disabled; disabled codes cannot be edited."))


def _push_welcome_for_update(corp, group_code, fields) -> tuple[str, object]:
    """The template id to store, and how to take the WeCom change back if a later step
    fails. Deleting a template cannot be undone, so that waits until the join way is
    updated (see group_code_update)."""
    old_id = group_code.wecom_template_id
    if not _has_welcome(fields):
        return "", None
    template_id = group_welcome_push(corp=corp, template_id=old_id,
                                     text=fields["welcome_text"],
                                     attachment=fields["welcome_attachment"])
    if not old_id:
        return template_id, lambda: group_welcome_delete(corp=corp, template_id=template_id)
    if _has_welcome(_snapshot_welcome(group_code)):
        return template_id, lambda: group_welcome_push(
            corp=corp, template_id=old_id, text=group_code.welcome_text,
            attachment=group_code.welcome_attachment)
    return template_id, None


def _snapshot_welcome(group_code) -> dict:
    return {"welcome_text": group_code.welcome_text,
            "welcome_attachment": group_code.welcome_attachment}


def group_code_update(*, corp, actor, group_code: GroupCode, name, group_ids, member_limit=None,
                      auto_create_room=False, room_base_name="", room_base_id=None,
                      welcome_text="", welcome_attachment=None, expires_at=None) -> GroupCode:
    require(actor, PERMISSION)
    _check_editable(corp, group_code)
    clean = _clean(corp, name=name, group_ids=group_ids, member_limit=member_limit,
                   auto_create_room=auto_create_room, room_base_name=room_base_name,
                   room_base_id=room_base_id, welcome_text=welcome_text,
                   welcome_attachment=welcome_attachment, expires_at=expires_at,
                   now=timezone.now())
    chat_ids = open_chat_ids(clean.groups, clean.fields["member_limit"])
    template_id, undo_welcome = _push_welcome_for_update(corp, group_code, clean.fields)
    try:
        _push_join_way(corp, config_id=group_code.wecom_config_id, state=group_code.state,
                       chat_ids=chat_ids, fields=clean.fields)
    except BaseException:
        if undo_welcome is not None:
            best_effort_undo(lambda: undo_welcome())
        raise
    if group_code.wecom_template_id and not template_id:
        group_welcome_delete(corp=corp, template_id=group_code.wecom_template_id)
    before = _snapshot(group_code) | {"groups": _chat_ids_of(group_code)}
    with transaction.atomic():
        for key, value in clean.fields.items():
            setattr(group_code, key, value)
        group_code.wecom_template_id = template_id
        group_code.wecom_chat_ids = chat_ids
        group_code.save()
        _store_groups(group_code, clean.groups)
        audit_record(corp=corp, actor=actor, action="group_code.update", obj=group_code,
                     changes=diff(before, _snapshot(group_code)
                                  | {"groups": [g.chat_id for g in clean.groups]}))
    return group_code


def _chat_ids_of(group_code) -> list[str]:
    return list(group_code.entries.order_by("order", "id").values_list("group__chat_id",
                                                                        flat=True))


def group_code_disable(*, corp, actor, group_code: GroupCode) -> GroupCode:
    """Deletes the join way (its QR code stops working) and the welcome template in WeCom;
    keeps the row, so joins through the code stay attributed."""
    require(actor, PERMISSION)
    if group_code.corp_id != corp.pk:
        raise Conflict(_("This group code belongs to another enterprise."))
    if group_code.status == GroupCode.Status.DISABLED:
        return group_code
    _disable(group_code, actor=actor, action="group_code.disable")
    return group_code


def _disable(group_code, *, actor, action) -> bool:
    corp = group_code.corp
    join_way_delete(corp=corp, config_id=group_code.wecom_config_id)
    group_welcome_delete(corp=corp, template_id=group_code.wecom_template_id)
    with transaction.atomic():
        # Conditional, so two concurrent disables (or expiry runs) record it once.
        changed = (GroupCode.objects.for_corp(corp)
                   .filter(pk=group_code.pk, status=GroupCode.Status.ACTIVE)
                   .update(status=GroupCode.Status.DISABLED, updated_at=timezone.now()))
        if changed:
            audit_record(corp=corp, actor=actor, action=action, obj=group_code,
                         changes={"status": [GroupCode.Status.ACTIVE,
                                             GroupCode.Status.DISABLED]})
    group_code.status = GroupCode.Status.DISABLED
    return bool(changed)


# ---------- moving on ----------

ADVANCE_ROUNDS = 3


def _groups_in_order(group_code) -> list:
    return [entry.group for entry in
            GroupCodeGroup.objects.for_corp(group_code.corp_id).filter(group_code=group_code)
            .select_related("group").order_by("order", "id")]


def group_code_advance(*, group_code: GroupCode) -> list[str] | None:
    """Point the join way at the groups of the code that are below the limit now (a system
    action). Returns the chat ids pushed, or None when the list had not changed.

    Two advances of one code may race (two groups changing at once); each re-reads after
    pushing and pushes again if the list moved meanwhile, so the last one leaves WeCom with
    the current list."""
    pushed = None
    for _round in range(ADVANCE_ROUNDS):
        code = GroupCode.objects.for_corp(group_code.corp_id).filter(pk=group_code.pk).first()
        if code is None or code.status != GroupCode.Status.ACTIVE or not code.wecom_config_id:
            return pushed
        chat_ids = open_chat_ids(_groups_in_order(code), code.member_limit)
        if not chat_ids or chat_ids == list(code.wecom_chat_ids or []):
            return pushed
        _push_join_way(code.corp, config_id=code.wecom_config_id, state=code.state,
                       chat_ids=chat_ids, fields=_snapshot(code))
        GroupCode.objects.for_corp(code.corp_id).filter(pk=code.pk).update(
            wecom_chat_ids=chat_ids)
        group_code.wecom_chat_ids = pushed = chat_ids
    return pushed


def _attach_created_group(corp, group) -> None:
    """A group WeCom created for a code (auto_create_room) joins the end of the code's list
    once someone joined it with the code's state."""
    states = set(GroupMember.objects.for_corp(corp)
                 .filter(group=group, state__startswith=STATE_PREFIX)
                 .values_list("state", flat=True).distinct())
    if not states:
        return
    codes = (GroupCode.objects.for_corp(corp)
             .filter(state__in=states, status=GroupCode.Status.ACTIVE, auto_create_room=True)
             .exclude(entries__group=group))
    for code in codes:
        with transaction.atomic():
            locked = GroupCode.objects.for_corp(corp).select_for_update().get(pk=code.pk)
            if locked.entries.filter(group=group).exists():
                continue
            last = locked.entries.aggregate(last=Max("order"))["last"]
            GroupCodeGroup.objects.create(corp=corp, group_code=locked, group=group,
                                          order=(last if last is not None else -1) + 1)
            audit_record(corp=corp, actor=None, action="group_code.group_created",
                         obj=locked, changes={"groups": [None, group.chat_id]})


def group_codes_for_group_changed(*, corp, group) -> int:
    """Called by the change_external_chat handlers after a group's members (or status)
    changed: every active code over that group moves on if it must. Returns how many join
    ways were updated. A refusal by WeCom is logged, not raised: the membership change is
    applied already, and the next change (or the periodic reconcile) pushes again."""
    _attach_created_group(corp, group)
    codes = (GroupCode.objects.for_corp(corp)
             .filter(entries__group=group, status=GroupCode.Status.ACTIVE).distinct())
    updated = 0
    for code in codes:
        try:
            if group_code_advance(group_code=code) is not None:
                updated += 1
        except WeComTransientError:
            raise
        except Conflict as error:
            log.warning("Group code %s could not move on: %s", code.pk, error.message)
    return updated


def group_codes_reconcile(*, now=None) -> int:
    """Periodic: disables expired codes and moves on any code whose list is stale (a push
    that failed, or a group whose count changed without a callback). Runs in every worker;
    conditional updates make concurrent runs harmless."""
    now = now or timezone.now()
    done = 0
    expired = list(GroupCode.objects.unscoped().select_related("corp")
                   .filter(status=GroupCode.Status.ACTIVE, expires_at__lte=now)[:100])
    for code in expired:
        try:
            done += _disable(code, actor=None, action="group_code.expire")
        except (Conflict, WeComError) as error:  # the others still get their turn
            log.warning("Expired group code %s could not be disabled: %s", code.pk, error)
    active = GroupCode.objects.unscoped().select_related("corp").filter(
        status=GroupCode.Status.ACTIVE).exclude(wecom_config_id="")
    for code in active.iterator():
        try:
            if group_code_advance(group_code=code) is not None:
                done += 1
        except (Conflict, WeComError) as error:
            log.warning("Group code %s could not move on: %s", code.pk, error)
    return done
