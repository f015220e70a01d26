"""Writes for customer groups and their members, as WeCom reports them (callbacks and sync).

Join and quit callbacks arrive late, twice and out of order. Each member row keeps the
CreateTime of the last join or quit applied (``wecom_event_time``); a change applies only when
its (time, rank) is greater, a quit outranking a join at the same second. Every distinct join
and quit is kept once in GroupMemberEvent, so the history does not depend on arrival order
either. What groupchat/get reports (name, owner, notice, member details) always wins; a
dismissed group stays dismissed.
"""

import time

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from siyu.core.audit import audit_record, diff
from siyu.customers.models import Customer, TimelineEvent
from siyu.customers.reconcile import employee_for_wecom_userid, wecom_datetime
from siyu.customers.services import timeline_add
from siyu.groups.models import CustomerGroup, GroupMember, GroupMemberEvent

_RANK_JOIN, _RANK_QUIT = 0, 1
# The callback's JoinScene (0 invited, 3 scanned the QR code) in groupchat/get's coding
# (1 invited directly, 2 invite link, 3 QR code), which is what members store.
EVENT_JOIN_SCENES = {0: 1, 3: 3}
EXTERNAL_USERID_PREFIXES = ("wm", "wo")


def _now() -> int:
    return int(time.time())


def _as_int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def group_ensure(*, corp, chat_id: str) -> CustomerGroup:
    """The group with this chat id, created bare when WeCom's details are not at hand."""
    chat_id = str(chat_id)[:64]
    groups = CustomerGroup.objects.for_corp(corp)
    group = groups.filter(chat_id=chat_id).first()
    if group is not None:
        return group
    try:
        with transaction.atomic():
            group = CustomerGroup.objects.create(corp=corp, chat_id=chat_id)
    except IntegrityError:
        return groups.get(chat_id=chat_id)
    audit_record(corp=corp, actor=None, action="group.create", obj=group,
                 changes={"chat_id": [None, chat_id]})
    return group


def _locked(corp, chat_id) -> CustomerGroup:
    group = group_ensure(corp=corp, chat_id=chat_id)
    return CustomerGroup.objects.for_corp(corp).select_for_update().get(pk=group.pk)


def group_upsert_from_wecom(*, corp, chat: dict, event_time: int | None = None,
                            members: bool = True, prune_members: bool = False
                            ) -> CustomerGroup:
    """Applies groupchat/get's ``group_chat``: name, owner, notice and (``members``) members.

    Listed members count as joined at their ``join_time``. ``prune_members`` (a sync) marks
    members that are no longer listed as having left now; callbacks leave that to the quit
    events, which carry the real time.
    """
    chat_id = str(chat.get("chat_id") or "")
    if not chat_id:
        raise ValueError("group_chat without chat_id")
    with transaction.atomic():
        group = _locked(corp, chat_id)
        values = {"name": str(chat.get("name") or "")[:100],
                  "notice": str(chat.get("notice") or "")}
        owner_userid = str(chat.get("owner") or "")[:64]
        if owner_userid:
            values["owner_userid"] = owner_userid
            values["owner"] = employee_for_wecom_userid(corp=corp, userid=owner_userid)
        created = _as_int(chat.get("create_time"))
        if created:
            values["created_in_wecom_at"] = wecom_datetime(created)
        changes = diff({k: getattr(group, k) for k in values}, values)
        if changes:
            for name, value in values.items():
                setattr(group, name, value)
            group.save()
            audit_record(corp=corp, actor=None, action="group.update", obj=group,
                         changes=changes)
        if not members:
            return group
        listed = {}
        for member in chat.get("member_list") or []:
            userid = str(member.get("userid") or "")
            if not userid:
                continue
            listed[userid] = member
            joined = _as_int(member.get("join_time")) or event_time or _now()
            _member_join(corp, group, userid, joined, details=member, scene=None,
                         always_record=False, listed=True)
        if prune_members:
            now = _now()
            gone = (GroupMember.objects.for_corp(corp)
                    .filter(group=group, quit_at__isnull=True)
                    .exclude(userid__in=list(listed)).values_list("userid", flat=True))
            for userid in list(gone):
                _member_quit(corp, group, userid, now, scene=None, listed=False)
        _recount(corp, group)
    _link_known_customers(corp, listed)
    return group


def group_members_joined(*, corp, group: CustomerGroup, userids, event_time: int,
                         join_scene=None, chat: dict | None = None) -> None:
    """add_member: ``userids`` joined at ``event_time``; ``chat`` (groupchat/get) adds details."""
    details = {str(m.get("userid")): m for m in (chat or {}).get("member_list") or []}
    scene = EVENT_JOIN_SCENES.get(_as_int(join_scene))
    with transaction.atomic():
        group = CustomerGroup.objects.for_corp(corp).select_for_update().get(pk=group.pk)
        for userid in userids:
            _member_join(corp, group, str(userid), int(event_time),
                         details=details.get(str(userid)), scene=scene, always_record=True,
                         listed=str(userid) in details if chat is not None else None)
        _recount(corp, group)
    _link_known_customers(corp, userids)


def group_members_quit(*, corp, group: CustomerGroup, userids, event_time: int,
                       quit_scene=None, chat: dict | None = None) -> None:
    """del_member: ``userids`` left (quit_scene 0) or were removed (1) at ``event_time``;
    ``chat`` (groupchat/get, if at hand) settles a join within the same second."""
    listed = ({str(m.get("userid")) for m in chat.get("member_list") or []}
              if chat is not None else None)
    with transaction.atomic():
        group = CustomerGroup.objects.for_corp(corp).select_for_update().get(pk=group.pk)
        for userid in userids:
            _member_quit(corp, group, str(userid), int(event_time),
                         scene=_as_int(quit_scene),
                         listed=str(userid) in listed if listed is not None else None)
        _recount(corp, group)
    _link_known_customers(corp, userids)


def group_dismiss(*, corp, chat_id: str, event_time: int) -> CustomerGroup:
    """The group was dismissed. For good: a chat id never comes back, so nothing revives it."""
    with transaction.atomic():
        group = _locked(corp, chat_id)
        if group.status != CustomerGroup.Status.DISMISSED:
            group.status = CustomerGroup.Status.DISMISSED
            group.dismissed_at = wecom_datetime(event_time)
            group.save(update_fields=["status", "dismissed_at", "updated_at"])
            audit_record(corp=corp, actor=None, action="group.dismiss", obj=group,
                         changes={"status": [CustomerGroup.Status.ACTIVE.value,
                                             group.status]})
    return group


def group_members_link_customer(*, corp, customer) -> int:
    """Links this customer's memberships that were recorded before the customer was known,
    and gives each join and quit recorded then its timeline entry: a join callback handled
    before the customer's add must leave the same history as one handled after it."""
    if not customer.external_userid:
        return 0
    linked = GroupMember.objects.for_corp(corp).filter(
        userid=customer.external_userid, customer__isnull=True).update(customer=customer)
    unlinked = (GroupMemberEvent.objects.for_corp(corp).select_related("group")
                .filter(userid=customer.external_userid, customer__isnull=True))
    for event in unlinked:
        with transaction.atomic():
            # Conditional: of two handlers linking the same customer, one writes the entry.
            if GroupMemberEvent.objects.for_corp(corp).filter(
                    pk=event.pk, customer__isnull=True).update(customer=customer):
                _member_timeline(corp, event.group, customer, event.kind, event.occurred_at,
                                 event.scene)
    return linked


def _link_known_customers(corp, userids) -> None:
    """Run after the members' transaction has committed: links the members among ``userids``
    still without a customer to customers that exist by now. A customer's add handled at the
    same moment (another worker thread) links the memberships it can see, but not those of a
    transaction still open; and that transaction could not see the new customer either. Each
    side reads after its own commit, so one of the two sees the other's rows."""
    userids = [str(u) for u in userids]
    unlinked = set(GroupMember.objects.for_corp(corp).filter(
        userid__in=userids, member_type=GroupMember.Type.EXTERNAL, customer__isnull=True)
        .values_list("userid", flat=True))
    if not unlinked:
        return
    for customer in Customer.objects.for_corp(corp).filter(external_userid__in=unlinked,
                                                            merged_into__isnull=True):
        group_members_link_customer(corp=corp, customer=customer)


# ---------- members ----------

def _is_newer(member: GroupMember, event_time: int, rank: int,
              listed: bool | None = None) -> bool:
    """Whether a join or quit at ``event_time`` supersedes what was applied last.
    ``listed``: whether groupchat/get lists the member now (None: not asked)."""
    if member.wecom_event_time is None:
        return True
    if event_time != member.wecom_event_time:
        return event_time > member.wecom_event_time
    current = _RANK_QUIT if member.quit_at is not None else _RANK_JOIN
    if listed is not None and rank != current:
        # A join and a quit within one second: WeCom's member list now tells which came last.
        return listed == (rank == _RANK_JOIN)
    return rank > current


def _customer_for(corp, userid: str):
    customer = Customer.objects.for_corp(corp).filter(external_userid=userid).first()
    while customer is not None and customer.merged_into_id is not None:
        customer = customer.merged_into
    return customer


def _member_type(corp, userid: str, details: dict | None, row: GroupMember | None) -> int:
    if details and _as_int(details.get("type")) in GroupMember.Type.values:
        return int(details["type"])
    if row is not None:
        return row.member_type
    if Customer.objects.for_corp(corp).filter(external_userid=userid).exists():
        return GroupMember.Type.EXTERNAL
    # Neither listed nor known: WeCom's external userids start with wm (WeChat) or wo (WeCom).
    if userid.startswith(EXTERNAL_USERID_PREFIXES):
        return GroupMember.Type.EXTERNAL
    return GroupMember.Type.EMPLOYEE


def _member_row(corp, group, userid, details):
    row = (GroupMember.objects.for_corp(corp).select_for_update()
           .filter(group=group, userid=userid).first())
    if row is None:
        row = GroupMember(corp=corp, group=group, userid=userid[:64],
                          member_type=_member_type(corp, userid, details, None))
    elif details:
        row.member_type = _member_type(corp, userid, details, row)
    if details:
        name = details.get("group_nickname") or details.get("name")
        if name:
            row.name = str(name)[:100]
        scene = _as_int(details.get("join_scene"))
        if scene is not None:
            row.join_scene = scene
        invitor = (details.get("invitor") or {}).get("userid")
        if invitor:
            row.invitor_userid = str(invitor)[:64]
        if details.get("state"):
            row.state = str(details["state"])[:30]
    if row.member_type == GroupMember.Type.EXTERNAL and row.customer_id is None:
        row.customer = _customer_for(corp, userid)
    return row


def _member_join(corp, group, userid, event_time, *, details, scene, always_record, listed):
    row = _member_row(corp, group, userid, details)
    when = wecom_datetime(event_time)
    applied = row.pk is None or _is_newer(row, event_time, _RANK_JOIN, listed)
    if applied:
        row.quit_at, row.quit_scene = None, None
        row.wecom_event_time = event_time
    # The latest join owns join_time and scene, even once a later quit has ended it.
    if row.join_time is None or when > row.join_time:
        row.join_time = when
        if scene is not None and not (details and details.get("join_scene") is not None):
            row.join_scene = scene
    row.save()
    if applied or always_record:
        _history(corp, group, row, GroupMemberEvent.Kind.JOINED, event_time,
                 scene if scene is not None else row.join_scene)


def _member_quit(corp, group, userid, event_time, *, scene, listed):
    row = _member_row(corp, group, userid, None)
    applied = row.pk is None or _is_newer(row, event_time, _RANK_QUIT, listed)
    if applied:
        row.quit_at = wecom_datetime(event_time)
        row.quit_scene = scene
        row.wecom_event_time = event_time
        row.save()
    _history(corp, group, row, GroupMemberEvent.Kind.QUIT, event_time, scene)


def _history(corp, group, row, kind, event_time, scene) -> None:
    """One GroupMemberEvent per distinct join/quit; the customer's timeline gets it once."""
    when = wecom_datetime(event_time)
    try:
        with transaction.atomic():
            GroupMemberEvent.objects.create(
                corp=corp, group=group, kind=kind, userid=row.userid,
                member_type=row.member_type, name=row.name, customer=row.customer,
                scene=scene, occurred_at=when)
    except IntegrityError:
        return  # already recorded: the same callback again
    if row.customer is not None:  # else the entry comes when the customer is linked
        _member_timeline(corp, group, row.customer, kind, when, scene)


def _member_timeline(corp, group, customer, kind, when, scene) -> None:
    label = group.name or group.chat_id
    if kind == GroupMemberEvent.Kind.JOINED:
        timeline_kind, summary = TimelineEvent.Kind.GROUP_JOINED, _("Joined group %(g)s")
    elif scene == 1:
        timeline_kind, summary = TimelineEvent.Kind.GROUP_QUIT, _("Removed from group %(g)s")
    else:
        timeline_kind, summary = TimelineEvent.Kind.GROUP_QUIT, _("Left group %(g)s")
    timeline_add(corp=corp, customer=customer, kind=timeline_kind, occurred_at=when,
                 summary=summary % {"g": label},
                 data={"chat_id": group.chat_id, "group": label, "scene": scene})


def _recount(corp, group) -> None:
    count = GroupMember.objects.for_corp(corp).filter(group=group, quit_at__isnull=True).count()
    if group.member_count != count:
        group.member_count = count
        group.save(update_fields=["member_count", "updated_at"])
