"""Reads of tag groups and tags (corp-wide; every role with tags.view sees all)."""

from django.db.models import Count, IntegerField, Prefetch, Q, Value

from siyu.accounts.scoping import restrict
from siyu.core.errors import NotFound
from siyu.customers.selectors import customers_for
from siyu.tags.models import Tag, TagGroup


def tag_groups_for(actor):
    tags = Tag.objects.for_corp(actor.corp_id).order_by("order", "id")
    return restrict(TagGroup.objects, actor, "tags.view").prefetch_related(
        Prefetch("tags", queryset=tags)
    )


def tags_for(actor):
    return restrict(Tag.objects, actor, "tags.view").select_related("group")


def tags_with_usage_for(actor):
    return tags_for(actor).annotate(customer_count=Count("customer_links"))


def tag_groups_with_usage_for(actor):
    """Tag groups with their tags, each tag annotated with ``customer_count``: how many
    customers the actor may see carry it (a staff member never learns others' totals)."""
    tags = Tag.objects.for_corp(actor.corp_id).order_by("order", "id")
    if actor.has_siyu_perm("customers.view"):
        visible = customers_for(actor).values("pk")
        tags = tags.annotate(customer_count=Count(
            "customer_links", filter=Q(customer_links__customer__in=visible)))
    else:
        tags = tags.annotate(customer_count=Value(0, output_field=IntegerField()))
    return restrict(TagGroup.objects, actor, "tags.view").prefetch_related(
        Prefetch("tags", queryset=tags))


def tag_get_for(actor, tag_id, permission="tags.view") -> Tag:
    tag = restrict(Tag.objects, actor, permission).select_related("group").filter(
        pk=_int_or_none(tag_id)).first()
    if tag is None:
        raise NotFound(f"No tag with id {tag_id} in your enterprise.")
    return tag


def tag_group_get_for(actor, group_id, permission="tags.view") -> TagGroup:
    group = restrict(TagGroup.objects, actor, permission).filter(pk=_int_or_none(group_id)).first()
    if group is None:
        raise NotFound(f"No tag group with id {group_id} in your enterprise.")
    return group


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
