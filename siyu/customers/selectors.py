"""Reads of customers, always through the actor's corp and data scope."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from siyu.accounts.scoping import restrict, visible_employee_ids
from siyu.core.errors import NotFound
from siyu.customers.models import Customer, CustomerTag, FollowRelation, TimelineEvent


@dataclass(frozen=True)
class CustomerFilters:
    q: str = ""
    tag_ids: tuple[int, ...] = ()
    owner_id: int | None = None
    state: str = ""
    added_from: datetime.date | None = None
    added_to: datetime.date | None = None
    include_lost: bool = False


def customers_for(actor, permission: str = "customers.view") -> QuerySet:
    return restrict(Customer.objects, actor, permission).filter(merged_into__isnull=True)


def customer_list(actor, filters: CustomerFilters, permission="customers.view") -> QuerySet:
    qs = customers_for(actor, permission)
    follows = FollowRelation.objects.for_corp(actor.corp_id).filter(customer_id=OuterRef("pk"))
    if not filters.include_lost:
        follows = follows.filter(deleted_at__isnull=True)
    employee_ids = visible_employee_ids(actor)
    if employee_ids is not None:
        follows = follows.filter(employee_id__in=employee_ids)
    follow_filtered = False
    if filters.owner_id:
        follows, follow_filtered = follows.filter(employee_id=filters.owner_id), True
    if filters.state:
        follows, follow_filtered = follows.filter(state=filters.state), True
    if filters.added_from:
        follows, follow_filtered = follows.filter(added_at__date__gte=filters.added_from), True
    if filters.added_to:
        follows, follow_filtered = follows.filter(added_at__date__lte=filters.added_to), True
    if follow_filtered:
        qs = qs.filter(Exists(follows))
    for tag_id in filters.tag_ids:
        qs = qs.filter(Exists(CustomerTag.objects.for_corp(actor.corp_id)
                              .filter(customer_id=OuterRef("pk"), tag_id=tag_id)))
    text = filters.q.strip()
    if text:
        remark_match = FollowRelation.objects.for_corp(actor.corp_id).filter(
            customer_id=OuterRef("pk")).filter(Q(remark__icontains=text)
                                              | Q(remark_mobiles__icontains=text))
        qs = qs.filter(Q(name__icontains=text) | Q(phones__icontains=text)
                       | Q(company__icontains=text) | Exists(remark_match))
    return qs


def with_list_details(qs: QuerySet, actor) -> QuerySet:
    """Prefetches what a list row shows (tags, active follow relations) without N+1."""
    follows = (FollowRelation.objects.for_corp(actor.corp_id).filter(deleted_at__isnull=True)
               .select_related("employee"))
    tag_links = CustomerTag.objects.for_corp(actor.corp_id).select_related("tag", "tag__group")
    return qs.prefetch_related(Prefetch("follows", queryset=follows, to_attr="active_follows"),
                               Prefetch("tag_links", queryset=tag_links, to_attr="tag_list"))


def customer_get_for(actor, customer_id, permission="customers.view") -> Customer:
    """The only way a customer id from a request becomes a row: 404 outside the actor's scope."""
    try:
        pk = int(customer_id)
    except (TypeError, ValueError):
        pk = None
    customer = customers_for(actor, permission).filter(pk=pk).first() if pk else None
    if customer is None:
        raise NotFound(f"No customer with id {customer_id} that you can see.")
    return customer


def customer_follows(actor, customer) -> QuerySet:
    return (FollowRelation.objects.for_corp(actor.corp_id).filter(customer=customer)
            .select_related("employee").order_by("deleted_at", "-added_at"))


def customer_tags(actor, customer) -> list:
    links = (CustomerTag.objects.for_corp(actor.corp_id).filter(customer=customer)
             .select_related("tag", "tag__group").order_by("tag__group__order", "tag__order"))
    return [link.tag for link in links]


def customer_timeline(actor, customer, limit: int = 200) -> QuerySet:
    return (TimelineEvent.objects.for_corp(actor.corp_id).filter(customer=customer)
            .select_related("actor", "employee")[:limit])


def duplicate_candidates(actor, customer) -> QuerySet:
    """Other visible customers sharing a phone or unionid (A2 identity resolution)."""
    match = Q()
    for phone in customer.phones:
        match |= Q(phones__icontains=phone)
    if customer.unionid:
        match |= Q(unionid=customer.unionid)
    if not match:
        return customers_for(actor).none()
    return customers_for(actor).filter(match).exclude(pk=customer.pk)[:20]


def _follows_in_scope(actor) -> QuerySet:
    return restrict(FollowRelation.objects, actor, "customers.view").filter(
        customer__merged_into__isnull=True)


def _local_day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def customer_counts(actor, days: int = 7) -> dict:
    """Totals for the dashboard: customers in scope, and customers added / lost / net over the
    last ``days`` local days (E1). Adds and losses count follow relations, so a customer who
    adds two employees is one add."""
    since = _local_day_start(timezone.localdate() - datetime.timedelta(days=days - 1))
    follows = _follows_in_scope(actor)
    added = follows.filter(added_at__gte=since).values("customer_id").distinct().count()
    lost = follows.filter(deleted_at__gte=since).values("customer_id").distinct().count()
    return {"total": customers_for(actor).count(), "added": added, "lost": lost,
            "net": added - lost, "days": days}


def customer_daily_adds(actor, days: int = 30) -> list[tuple[datetime.date, int]]:
    """New customers per local day (the current time zone) for the last ``days`` days,
    oldest first, days without adds included as 0."""
    today = timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    rows = (_follows_in_scope(actor).filter(added_at__gte=_local_day_start(first))
            .annotate(day=TruncDate("added_at", tzinfo=timezone.get_current_timezone()))
            .values("day").annotate(n=Count("customer_id", distinct=True)))
    per_day = {row["day"]: row["n"] for row in rows}
    return [(first + datetime.timedelta(days=i), per_day.get(first + datetime.timedelta(days=i), 0))
            for i in range(days)]


def customer_channel_breakdown(actor, limit: int = 8) -> tuple[list[tuple[str, int]], int]:
    """Current customers per channel state (the live code that brought them): the ``limit``
    largest as (state, count) with "" for no channel, and the sum of the rest."""
    rows = list(_follows_in_scope(actor).filter(deleted_at__isnull=True).values("state")
                .annotate(n=Count("customer_id", distinct=True)).order_by("-n", "state"))
    top = [(row["state"], row["n"]) for row in rows[:limit]]
    return top, sum(row["n"] for row in rows[limit:])
