"""Reads for group live codes. Admins and managers (``acquisition.manage``) see every code of
their enterprise with all its groups; anyone else sees the codes over at least one group their
role lets them see (groups are scoped by owner: staff their own groups, managers their
departments'), and of those codes only the groups they may see."""

from dataclasses import dataclass

from django.db.models import Count, Q

from siyu.accounts.scoping import require
from siyu.acquisition.models import GroupCode, GroupCodeGroup
from siyu.core.errors import NotFound, PermissionDenied
from siyu.groups.models import CustomerGroup, GroupMember
from siyu.groups.selectors import groups_for

MANAGE = "acquisition.manage"


def _signed_in(actor):
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.corp_id:
        raise PermissionDenied("Sign in with a user of an enterprise to do this.")


def _manages(actor) -> bool:
    return actor.has_siyu_perm(MANAGE)


def _visible_group_ids(actor):
    if not actor.has_siyu_perm("groups.view"):
        return CustomerGroup.objects.for_corp(actor.corp_id).none().values("pk")
    return groups_for(actor).values("pk")


def group_codes_for(actor):
    _signed_in(actor)
    codes = GroupCode.objects.for_corp(actor.corp_id)
    if _manages(actor):
        return codes
    visible = GroupCodeGroup.objects.for_corp(actor.corp_id).filter(
        group_id__in=_visible_group_ids(actor)).values("group_code_id")
    return codes.filter(pk__in=visible)


def group_code_get_for(actor, group_code_id) -> GroupCode:
    try:
        pk = int(group_code_id)
    except (TypeError, ValueError):
        pk = None
    code = group_codes_for(actor).filter(pk=pk).first() if pk else None
    if code is None:
        raise NotFound("This group code does not exist, or it is outside what your role can "
                       "see.")
    return code


def group_code_get_for_manage(actor, group_code_id) -> GroupCode:
    require(actor, MANAGE)
    return group_code_get_for(actor, group_code_id)


@dataclass
class GroupFill:
    """One group of a code as the console shows it: how full it is and who joined through
    the code (``joined``: every join with the code's state; ``present``: still members)."""

    group: CustomerGroup
    order: int
    member_count: int
    limit: int
    listed: bool  # in the join way's list now
    joined: int = 0
    present: int = 0

    @property
    def full(self) -> bool:
        return self.member_count >= self.limit

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.member_count / self.limit)) if self.limit else 0


def group_code_fill(actor, group_code: GroupCode) -> list[GroupFill]:
    """The code's groups in order, restricted to the groups the actor may see."""
    return group_code_fills(actor, [group_code])[group_code.pk]


def group_code_fills(actor, codes) -> dict[int, list[GroupFill]]:
    """group_code_fill for a page of codes (the list), in two queries for the whole page."""
    codes = list(codes)
    entries = (GroupCodeGroup.objects.for_corp(actor.corp_id)
               .filter(group_code__in=[c.pk for c in codes])
               .select_related("group").order_by("order", "id"))
    if not _manages(actor):
        entries = entries.filter(group_id__in=_visible_group_ids(actor))
    by_code = {code.pk: [] for code in codes}
    for entry in entries:
        by_code[entry.group_code_id].append(entry)
    joins = {(row["state"], row["group_id"]): row for row in
             GroupMember.objects.for_corp(actor.corp_id)
             .filter(state__in={c.state for c in codes},
                     group_id__in={e.group_id for rows in by_code.values() for e in rows})
             .values("state", "group_id")
             .annotate(joined=Count("pk"), present=Count("pk", filter=Q(quit_at__isnull=True)))}
    fills = {}
    for code in codes:
        listed = set(code.wecom_chat_ids or ())
        fills[code.pk] = [
            GroupFill(group=e.group, order=e.order, member_count=e.group.member_count,
                      limit=code.member_limit, listed=e.group.chat_id in listed,
                      joined=joins.get((code.state, e.group_id), {}).get("joined", 0),
                      present=joins.get((code.state, e.group_id), {}).get("present", 0))
            for e in by_code[code.pk]]
    return fills


def groups_to_choose(actor):
    """Active groups a code may be built from (the form's picker)."""
    require(actor, MANAGE)
    return (CustomerGroup.objects.for_corp(actor.corp_id)
            .filter(status=CustomerGroup.Status.ACTIVE).select_related("owner")
            .order_by("name", "pk"))
