"""WeCom's view of customers applied to Siyu: a customer upserted from WeCom's
``external_contact``, the relationship with a member begun, edited or ended as callbacks and the
sync report it, a failed transfer, and the employee behind a WeCom userid. Operators' and the
API's writes are in ``siyu.customers.services``."""

import datetime
import time

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from siyu.accounts.models import Employee
from siyu.core.audit import audit_record, diff
from siyu.core.errors import ValidationFailed
from siyu.core.events import publish
from siyu.customers.events import CustomerCreated
from siyu.customers.models import Customer, FollowRelation, TimelineEvent
from siyu.customers.services import (
    _snapshot,
    audit_changes,
    customer_tag,
    customer_untag,
    timeline_add,
)

# Callbacks arrive late, twice and out of order. A relationship keeps the CreateTime of the last
# add or delete applied (``wecom_event_time``); an event changes active/deleted only when its
# (time, rank) is greater, where at the same second a delete outranks an add and the customer's
# delete the employee's. The latest add seen owns ``added_at`` and the channel state, even after
# a later delete. What WeCom reports now (remark, tags, ...) always wins. So any order of the
# same events ends in the same state. The timeline is history: each distinct event gets one
# entry, whether or not it changed the current state.

_RANK_ADD = 0
_RANK_DELETED = {"employee": 1, "customer": 2}
WECOM_CHANGES = ("add", "add_half", "edit")


def wecom_datetime(epoch) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)


def employee_for_wecom_userid(*, corp, userid: str):
    """The employee with this WeCom userid; a placeholder named after the userid when the
    organisation sync has not brought them in yet (the next sync fills in the rest)."""
    userid = str(userid)[:64]
    employee = Employee.objects.for_corp(corp).filter(userid=userid).first()
    if employee is not None:
        return employee
    try:
        with transaction.atomic():
            return Employee.objects.create(corp=corp, userid=userid, name=userid)
    except IntegrityError:
        return Employee.objects.for_corp(corp).get(userid=userid)


def _contact_profile(contact: dict) -> dict:
    """The identity fields WeCom owns, as far as this answer carries them."""
    profile = {}
    name = str(contact.get("name") or "").strip()[:64]
    if name:
        profile["name"] = name
    avatar = str(contact.get("avatar") or "")
    if avatar.startswith(("http://", "https://")) and len(avatar) <= 500:
        profile["avatar"] = avatar
    for field in ("type", "gender"):
        if contact.get(field) in (0, 1, 2):
            profile[field] = contact[field]
    unionid = str(contact.get("unionid") or "")[:64]
    if unionid:
        profile["unionid"] = unionid
    return profile


def _customer_for_contact(corp, contact: dict) -> Customer:
    ext = str(contact.get("external_userid") or "").strip()[:64]
    if not ext:
        raise ValidationFailed(_("WeCom sent a customer without an external userid."),
                               field_errors={"external_userid": [_("Required.")]})
    profile = _contact_profile(contact)
    company = str(contact.get("corp_name") or "").strip()[:100]
    found = Customer.objects.for_corp(corp).select_for_update().filter(external_userid=ext)
    customer = found.first()
    if customer is None:
        fields = {"name": ext, "company": company, **profile}
        try:
            with transaction.atomic():
                customer = Customer.objects.create(corp=corp, external_userid=ext, **fields)
        except IntegrityError:
            customer = found.get()
        else:
            audit_record(corp=corp, actor=None, action="customer.create", obj=customer,
                         changes=diff({}, {"external_userid": ext, **fields}))
            timeline_add(corp=corp, customer=customer, kind=TimelineEvent.Kind.CREATED,
                         summary=_("Customer created"), data={"source": "wecom"})
            publish(CustomerCreated(corp_id=corp.pk, customer_id=customer.pk,
                                    external_userid=ext))
            return customer
    # A merge keeps WeCom's id on the duplicate when the primary had its own.
    while customer.merged_into_id is not None:
        customer = customer.merged_into
    if company and not customer.company:
        profile["company"] = company
    changes = diff(_snapshot(customer, profile), profile)
    if changes:
        for name in changes:
            setattr(customer, name, profile[name])
        customer.save(update_fields=[*changes, "updated_at"])
        audit_record(corp=corp, actor=None, action="customer.update", obj=customer,
                     changes=changes)
    return customer


def _timeline_once(*, corp, customer, kind, occurred_at, employee=None, summary, data):
    """A timeline entry for one WeCom event; the same event applied again adds nothing."""
    seen = TimelineEvent.objects.for_corp(corp).filter(
        customer=customer, kind=kind, occurred_at=occurred_at, employee=employee)
    if seen.exists():
        return None
    return timeline_add(corp=corp, customer=customer, kind=kind, summary=summary,
                        employee=employee, occurred_at=occurred_at, data=data)


def _is_newer(relation: FollowRelation, event_time: int, rank: int,
              listed: bool | None = None) -> bool:
    """Whether an add or delete at ``event_time`` supersedes what was applied last.
    ``listed``: whether WeCom lists the relationship now (None: not asked)."""
    if relation.wecom_event_time is None:
        return True
    if event_time != relation.wecom_event_time:
        return event_time > relation.wecom_event_time
    current = _RANK_ADD if relation.is_active else _RANK_DELETED.get(relation.deleted_by, 1)
    if listed is not None and (rank == _RANK_ADD) != (current == _RANK_ADD):
        # An add and a delete within one second: WeCom's answer now tells which came last.
        return listed == (rank == _RANK_ADD)
    return rank > current


def _reported_values(follow: dict) -> dict:
    """The relationship's details from WeCom's follow_user entry (only the keys it has)."""
    values = {}
    for field, limit in (("remark", 64), ("description", 255)):
        if field in follow:
            values[field] = str(follow[field] or "")[:limit]
    if follow.get("state"):  # absent or empty: the add callback's State stands
        values["state"] = str(follow["state"])[:30]
    if "remark_mobiles" in follow:
        values["remark_mobiles"] = [str(m) for m in follow["remark_mobiles"] or []]
    if "add_way" in follow:
        values["add_way"] = _as_int(follow["add_way"])
    return values


def _corp_tag_ids(follow: dict) -> list[str]:
    # type 1 = corp tag; personal (2) and rule (3) tags are the employee's own, not the corp's.
    return sorted({str(t["tag_id"]) for t in follow.get("tags") or []
                   if t.get("tag_id") and t.get("type", 1) == 1})


def _follow_tags_apply(corp, relation: FollowRelation, tag_ids: list[str]) -> None:
    """Links the corp tags WeCom reports on this relationship; unlinks those WeCom stopped
    reporting (unless another active relationship still carries them). Tags added in Siyu are
    never removed here."""
    from siyu.tags.models import Tag

    before = set(relation.wecom_tag_ids or [])
    if set(tag_ids) != before:
        relation.wecom_tag_ids = tag_ids
        relation.save(update_fields=["wecom_tag_ids"])
    customer = relation.customer
    others = FollowRelation.objects.for_corp(corp).filter(
        customer=customer, deleted_at__isnull=True).exclude(pk=relation.pk)
    still_reported = {tag_id for other in others for tag_id in other.wecom_tag_ids or []}
    gone = before - set(tag_ids) - still_reported
    tags = Tag.objects.for_corp(corp)
    if tag_ids:
        customer_tag(corp=corp, actor=None, customer=customer,
                     tags=tags.filter(wecom_tag_id__in=tag_ids))
    if gone:
        customer_untag(corp=corp, actor=None, customer=customer,
                       tags=tags.filter(wecom_tag_id__in=sorted(gone)))


def customer_upsert_from_wecom(*, corp, contact: dict, follow: dict | None = None,
                               event_time: int | None = None, change: str = "add",
                               userid: str = "", employee=None, event_state: str = "",
                               channel_name: str = ""):
    """Upserts a customer by external_userid from WeCom's ``external_contact`` and, when a
    member is named (``follow`` = WeCom's follow_user entry, or ``userid`` when WeCom no longer
    lists the relationship), the relationship with that member.

    ``change``: "add" / "add_half" — the member added the customer at ``event_time`` (a
    callback's CreateTime, which also gets a timeline entry; ``None`` = as WeCom reports it
    now, e.g. a sync); "edit" — WeCom reports changed details (creates the relationship only
    if it is unknown here).
    ``event_state`` is the callback's State, used when WeCom's entry has none;
    ``channel_name`` names what that State stands for (a live code), for the timeline.
    Returns ``(customer, relationship or None)``.
    """
    if change not in WECOM_CHANGES:
        raise ValueError(f"change must be one of {WECOM_CHANGES}, not {change!r}")
    userid = str((follow or {}).get("userid") or userid or "")
    with transaction.atomic():
        customer = _customer_for_contact(corp, contact)
        if not userid:
            return customer, None
        employee = employee or employee_for_wecom_userid(corp=corp, userid=userid)
        relation = _follow_apply_add(corp, customer, employee, follow, event_time, change,
                                     event_state, channel_name)
    return customer, relation


def _follow_apply_add(corp, customer, employee, follow, event_time, change, event_state,
                      channel_name=""):
    is_event = event_time is not None
    t = int(event_time) if is_event else int(time.time())
    when = wecom_datetime(t)
    reported = _reported_values(follow) if follow is not None else {}
    created_in_wecom = _as_int((follow or {}).get("createtime"))
    relation = (FollowRelation.objects.for_corp(corp).select_for_update()
                .filter(customer=customer, employee=employee).first())
    if relation is None and change == "edit" and follow is None:
        # Edited, then ended before this was read: the add and the delete tell the rest.
        _follow_edited(corp, customer, employee, when, {})
        return None
    before = {k: getattr(relation, k) for k in reported} if relation is not None else {}
    began = False
    if relation is None:
        relation = FollowRelation(corp=corp, customer=customer, employee=employee,
                                  added_at=wecom_datetime(created_in_wecom) if created_in_wecom
                                  else when, wecom_event_time=t)
        began = True
    elif change != "edit" and _is_newer(relation, t, _RANK_ADD, listed=follow is not None):
        began = not relation.is_active
        relation.deleted_at, relation.deleted_by = None, ""
        # A read without a callback time (a sync) only marks the time when it changes the
        # state: "now" is later than when WeCom was read, and must not hide a delete that
        # happened in between.
        if is_event or began:
            relation.wecom_event_time = t
    # The latest add owns when the relationship began and through which channel.
    add_time = t if (is_event and change != "edit") else created_in_wecom
    if add_time and (relation.wecom_added_time is None or add_time > relation.wecom_added_time):
        relation.wecom_added_time = add_time
        relation.added_at = wecom_datetime(add_time)
        relation.state = str(event_state or "")[:30]
    elif began and relation.pk is not None:
        relation.added_at = when
    for name, value in reported.items():
        setattr(relation, name, value)
    changes = diff(before, reported) if not began else {}
    relation.save()
    if began:
        audit_record(corp=corp, actor=None, action="follow.add", obj=customer,
                     changes={"follow": [None, employee.name], "state": [None, relation.state]})
    elif changes:
        audit_record(corp=corp, actor=None, action="follow.update", obj=customer,
                     changes=changes)
    _follow_history(corp, relation, change, is_event, began, when, changes, event_state,
                    channel_name)
    if follow is not None and "tags" in follow:
        _follow_tags_apply(corp, relation, _corp_tag_ids(follow))
    return relation


def _follow_history(corp, relation, change, is_event, began, when, changes, event_state,
                    channel_name=""):
    employee = relation.employee
    if change == "edit":
        if is_event:
            _follow_edited(corp, relation.customer, employee, when, changes)
        if not began:
            return
    if is_event and change != "edit":
        # This event's own State: the entry must not depend on what arrived before it.
        occurred_at, state = when, event_state
    elif began:
        occurred_at, state = relation.added_at, relation.state
    else:
        return
    # The name belongs to this event's State only.
    channel = channel_name if state and state == event_state else ""
    if change == "add_half":
        summary = _("The customer added %(e)s, who has not accepted yet") % {"e": employee.name}
    elif channel:
        summary = _("Added employee %(e)s through live code “%(c)s”") % {
            "e": employee.name, "c": channel}
    elif state:
        summary = _("Added employee %(e)s through channel %(s)s") % {"e": employee.name,
                                                                     "s": state}
    else:
        summary = _("Added employee %(e)s") % {"e": employee.name}
    _timeline_once(corp=corp, customer=relation.customer, kind=TimelineEvent.Kind.FOLLOW_ADDED,
                   occurred_at=occurred_at, employee=employee, summary=summary,
                   data={"userid": employee.userid, "state": state,
                         "channel_name": channel,
                         "add_way": relation.add_way, "half": change == "add_half"})


def _follow_edited(corp, customer, employee, when, changes):
    _timeline_once(corp=corp, customer=customer, kind=TimelineEvent.Kind.FOLLOW_EDITED,
                   occurred_at=when, employee=employee,
                   summary=_("%(e)s edited the remark or tags in WeCom") % {"e": employee.name},
                   data={"userid": employee.userid, "changes": audit_changes(changes)})


def _as_int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def follow_end_from_wecom(*, corp, customer, employee, deleted_by: str, event_time: int,
                          source: str = "", still_listed: bool | None = None) -> FollowRelation:
    """Ends a relationship as a WeCom callback reports it: ``deleted_by`` "employee"
    (del_external_contact) or "customer" (del_follow_user). A relationship unknown here is
    recorded as ended, so an older add arriving later cannot revive it. ``still_listed``:
    whether WeCom lists the relationship now, which settles an add in the same second."""
    if deleted_by not in FollowRelation.DeletedBy.values:
        raise ValidationFailed(_("deleted_by must be customer or employee."),
                               field_errors={"deleted_by": [_("Invalid choice.")]})
    t = int(event_time)
    when = wecom_datetime(t)
    with transaction.atomic():
        relation = (FollowRelation.objects.for_corp(corp).select_for_update()
                    .filter(customer=customer, employee=employee).first())
        applied = relation is None or _is_newer(relation, t, _RANK_DELETED[deleted_by],
                                                listed=still_listed)
        if relation is None:
            # Its add is unknown: added_at is a placeholder until that add arrives.
            relation = FollowRelation(corp=corp, customer=customer, employee=employee,
                                      added_at=when)
        if applied:
            relation.deleted_at, relation.deleted_by = when, deleted_by
            relation.wecom_event_time = t
            relation.save()
            audit_record(corp=corp, actor=None, action="follow.end", obj=customer,
                         changes={"follow": [employee.name, None],
                                  "deleted_by": [None, deleted_by]})
        if deleted_by == FollowRelation.DeletedBy.EMPLOYEE:
            summary = _("%(e)s deleted the customer") % {"e": employee.name}
        else:
            summary = _("The customer deleted %(e)s") % {"e": employee.name}
        _timeline_once(corp=corp, customer=customer, kind=TimelineEvent.Kind.FOLLOW_DELETED,
                       occurred_at=when, employee=employee, summary=summary,
                       data={"userid": employee.userid, "deleted_by": deleted_by,
                             "source": str(source or "")[:64]})
    return relation


TRANSFER_FAIL_REASONS = {
    "customer_refused": gettext_lazy("the customer refused"),
    "customer_limit_exceed": gettext_lazy("the employee has reached the customer limit"),
}


def customer_transfer_failed(*, corp, customer, employee, reason: str, event_time: int):
    """WeCom's transfer_fail: the customer did not pass to ``employee``. History only."""
    when = wecom_datetime(event_time)
    label = TRANSFER_FAIL_REASONS.get(reason)
    summary = (_("Transfer to %(e)s failed: %(r)s") % {"e": employee.name, "r": label} if label
               else _("Transfer to %(e)s failed (%(r)s)") % {"e": employee.name,
                                                             "r": reason or "?"})
    with transaction.atomic():
        entry = _timeline_once(corp=corp, customer=customer,
                               kind=TimelineEvent.Kind.TRANSFER_FAILED, occurred_at=when,
                               employee=employee, summary=summary,
                               data={"userid": employee.userid, "reason": reason})
        if entry is not None:
            audit_record(corp=corp, actor=None, action="customer.transfer_failed",
                         obj=customer, changes={"transfer": [employee.name, reason]})
    return entry
