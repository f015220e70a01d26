"""Reads of customer groups, always through the actor's corp and data scope (groups are
scoped by owner: staff see the groups they own, managers their departments', admins all)."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from siyu.accounts.models import Employee
from siyu.accounts.scoping import restrict
from siyu.core.errors import NotFound
from siyu.customers.selectors import customers_for
from siyu.groups.models import CustomerGroup, GroupMember, GroupMemberEvent

SEARCH_MAX = 100


def groups_for(actor) -> QuerySet:
    return restrict(CustomerGroup.objects, actor, "groups.view").select_related("owner")


def group_list(actor, *, q: str = "", status: str = "") -> QuerySet:
    """Groups the actor may see; ``q`` matches the name, the owner's name or the chat id."""
    qs = groups_for(actor)
    text = (q or "").strip()[:SEARCH_MAX]
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(owner__name__icontains=text)
                       | Q(chat_id=text))
    if status in CustomerGroup.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("status", "-id")


def group_get_for(actor, group_id) -> CustomerGroup:
    """The only way a group id from a request becomes a row: 404 outside the actor's scope."""
    try:
        pk = int(group_id)
    except (TypeError, ValueError):
        pk = None
    group = groups_for(actor).filter(pk=pk).first() if pk else None
    if group is None:
        raise NotFound(f"No customer group with id {group_id} that you can see.")
    return group


@dataclass
class MemberView:
    """A member or a join/quit as shown: a display name, and the customer page to link to
    only when the actor may see that customer."""

    row: object
    name: str
    is_employee: bool
    customer: object = None
    scene_label: str = ""  # filled by the view: how they joined or left
    quit_label: str = ""


def _people(actor, rows) -> tuple[dict, set]:
    userids = [r.userid for r in rows if r.member_type == GroupMember.Type.EMPLOYEE]
    employees = dict(Employee.objects.for_corp(actor.corp_id).filter(userid__in=userids)
                     .values_list("userid", "name"))
    customer_ids = {r.customer_id for r in rows if r.customer_id}
    visible = set()
    if customer_ids and actor.has_siyu_perm("customers.view"):
        visible = set(customers_for(actor).filter(pk__in=customer_ids)
                      .values_list("pk", flat=True))
    return employees, visible


def _view(row, employees, visible) -> MemberView:
    is_employee = row.member_type == GroupMember.Type.EMPLOYEE
    customer = row.customer if row.customer_id in visible else None
    name = (employees.get(row.userid) if is_employee else None) or row.name or (
        customer.name if customer else "") or row.userid
    return MemberView(row=row, name=name, is_employee=is_employee, customer=customer)


def group_members(actor, group: CustomerGroup) -> list[MemberView]:
    """Members of a group the actor may see (check with group_get_for first): present
    members first, employees before customers, then by join time."""
    rows = list(GroupMember.objects.for_corp(actor.corp_id).filter(group=group)
                .select_related("customer")
                .order_by("quit_at", "member_type", "join_time", "id"))
    employees, visible = _people(actor, rows)
    return [_view(row, employees, visible) for row in rows]


def group_history(actor, group: CustomerGroup, limit: int = 200) -> list[MemberView]:
    """Joins and quits of a group, newest first."""
    rows = list(GroupMemberEvent.objects.for_corp(actor.corp_id).filter(group=group)
                .select_related("customer")[:limit])
    employees, visible = _people(actor, rows)
    return [_view(row, employees, visible) for row in rows]
