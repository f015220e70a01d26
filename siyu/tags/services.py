"""Writes for tag groups and tags. Tagging customers lives in customers.services."""

from django.db import transaction
from django.utils.translation import gettext as _

from siyu.accounts.scoping import require
from siyu.core.audit import audit_record, diff
from siyu.core.errors import Conflict, ValidationFailed
from siyu.customers.models import CustomerTag
from siyu.tags.models import Tag, TagGroup

NAME_MAX = 30  # WeCom's limit for corp tag and group names


def _clean_name(value, field="name") -> str:
    name = (value or "").strip()
    if not name:
        raise ValidationFailed(_("A name is required."), field_errors={field: [_("Required.")]})
    if len(name) > NAME_MAX:
        raise ValidationFailed(
            _("The name is too long."),
            field_errors={
                field: [_("At most %(n)d characters (WeCom's limit).") % {"n": NAME_MAX}]},
        )
    return name


def tag_group_create(*, corp, actor, name: str, order: int = 0, tag_names=()) -> TagGroup:
    if actor is not None:
        require(actor, "tags.manage")
    name = _clean_name(name)
    clean_tags = [_clean_name(t, "tag_names") for t in tag_names]
    if len(set(clean_tags)) != len(clean_tags):
        raise ValidationFailed(_("Tag names repeat."),
                               field_errors={"tag_names": [_("Each tag name once.")]})
    with transaction.atomic():
        if TagGroup.objects.for_corp(corp).filter(name=name).exists():
            raise Conflict(_("A tag group named “%(n)s” exists.") % {"n": name},
                           field_errors={"name": [_("Choose another name.")]})
        group = TagGroup.objects.create(corp=corp, name=name, order=order)
        Tag.objects.bulk_create(
            [Tag(corp=corp, group=group, name=t, order=i) for i, t in enumerate(clean_tags)]
        )
        audit_record(corp=corp, actor=actor, action="tag_group.create", obj=group,
                     changes={"name": [None, name], "tags": [None, clean_tags]})
    return group


def tag_group_update(*, corp, actor, group: TagGroup, name=None, order=None) -> TagGroup:
    require(actor, "tags.manage")
    before = {"name": group.name, "order": group.order}
    with transaction.atomic():
        if name is not None:
            name = _clean_name(name)
            if TagGroup.objects.for_corp(corp).filter(name=name).exclude(pk=group.pk).exists():
                raise Conflict(_("A tag group named “%(n)s” exists.") % {"n": name},
                               field_errors={"name": [_("Choose another name.")]})
            group.name = name
        if order is not None:
            group.order = int(order)
        group.save()
        audit_record(corp=corp, actor=actor, action="tag_group.update", obj=group,
                     changes=diff(before, {"name": group.name, "order": group.order}))
    return group


def tag_group_delete(*, corp, actor, group: TagGroup) -> None:
    require(actor, "tags.manage")
    with transaction.atomic():
        names = list(group.tags.values_list("name", flat=True))
        audit_record(corp=corp, actor=actor, action="tag_group.delete", obj=group,
                     changes={"name": [group.name, None], "tags": [names, None]})
        group.delete()


def tag_create(*, corp, actor, group: TagGroup, name: str, order: int = 0) -> Tag:
    if actor is not None:
        require(actor, "tags.manage")
    name = _clean_name(name)
    with transaction.atomic():
        if Tag.objects.for_corp(corp).filter(group=group, name=name).exists():
            raise Conflict(_("The group already has a tag “%(n)s”.") % {"n": name},
                           field_errors={"name": [_("Choose another name.")]})
        tag = Tag.objects.create(corp=corp, group=group, name=name, order=order)
        audit_record(corp=corp, actor=actor, action="tag.create", obj=tag,
                     changes={"name": [None, name], "group": [None, group.name]})
    return tag


def tag_update(*, corp, actor, tag: Tag, name=None, order=None) -> Tag:
    require(actor, "tags.manage")
    before = {"name": tag.name, "order": tag.order}
    with transaction.atomic():
        if name is not None:
            name = _clean_name(name)
            clash = Tag.objects.for_corp(corp).filter(group_id=tag.group_id, name=name)
            if clash.exclude(pk=tag.pk).exists():
                raise Conflict(_("The group already has a tag “%(n)s”.") % {"n": name},
                               field_errors={"name": [_("Choose another name.")]})
            tag.name = name
        if order is not None:
            tag.order = int(order)
        tag.save()
        audit_record(corp=corp, actor=actor, action="tag.update", obj=tag,
                     changes=diff(before, {"name": tag.name, "order": tag.order}))
    return tag


def tag_delete(*, corp, actor, tag: Tag) -> None:
    require(actor, "tags.manage")
    with transaction.atomic():
        audit_record(corp=corp, actor=actor, action="tag.delete", obj=tag,
                     changes={"name": [tag.name, None]})
        tag.delete()


# ---------- WeCom corp tags (get_corp_tag_list), matched by WeCom ids ----------

def _wecom_order(item: dict) -> int:
    # WeCom shows larger ``order`` first; Siyu sorts ascending.
    try:
        return -int(item.get("order") or 0)
    except (TypeError, ValueError):
        return 0


def _unique_name(queryset, name: str, wecom_id: str) -> str:
    """``name``, or — while another row holds it (WeCom renames arriving out of order) — the
    name marked with the WeCom id, within WeCom's 30 characters; the next change sets it right."""
    name = (name or "").strip()[:NAME_MAX] or wecom_id[-NAME_MAX:]
    if not queryset.filter(name=name).exists():
        return name
    suffix = f"~{wecom_id[-8:]}"
    return f"{name[:NAME_MAX - len(suffix)]}{suffix}"


def _group_from_wecom(corp, item: dict, changes: dict) -> TagGroup:
    wecom_id = str(item["group_id"])
    groups = TagGroup.objects.for_corp(corp)
    group = groups.filter(wecom_group_id=wecom_id).first()
    name = str(item.get("group_name") or "").strip()[:NAME_MAX]
    if group is None:
        # A group made in Siyu before the first sync has the same name and no id yet.
        group = groups.filter(name=name, wecom_group_id="").first()
    if group is None:
        group = TagGroup.objects.create(
            corp=corp, wecom_group_id=wecom_id, order=_wecom_order(item),
            name=_unique_name(groups, name, wecom_id))
        audit_record(corp=corp, actor=None, action="tag_group.create", obj=group,
                     changes={"name": [None, group.name], "wecom_group_id": [None, wecom_id]})
        changes["groups_created"] += 1
        return group
    before = {"name": group.name, "order": group.order, "wecom_group_id": group.wecom_group_id}
    after = {"name": name if name == group.name else _unique_name(
                 groups.exclude(pk=group.pk), name, wecom_id),
             "order": _wecom_order(item), "wecom_group_id": wecom_id}
    if before != after:
        group.name, group.order, group.wecom_group_id = (after["name"], after["order"],
                                                          wecom_id)
        group.save()
        audit_record(corp=corp, actor=None, action="tag_group.update", obj=group,
                     changes=diff(before, after))
        changes["groups_updated"] += 1
    return group


def _tag_from_wecom(corp, group: TagGroup, item: dict, changes: dict) -> Tag:
    wecom_id = str(item["id"])
    siblings = Tag.objects.for_corp(corp).filter(group=group)
    tag = Tag.objects.for_corp(corp).filter(wecom_tag_id=wecom_id).first()
    name = str(item.get("name") or "").strip()[:NAME_MAX]
    if tag is None:
        tag = siblings.filter(name=name, wecom_tag_id="").first()
    if tag is None:
        tag = Tag.objects.create(corp=corp, group=group, wecom_tag_id=wecom_id,
                                 order=_wecom_order(item),
                                 name=_unique_name(siblings, name, wecom_id))
        audit_record(corp=corp, actor=None, action="tag.create", obj=tag,
                     changes={"name": [None, tag.name], "group": [None, group.name],
                              "wecom_tag_id": [None, wecom_id]})
        changes["tags_created"] += 1
        return tag
    before = {"name": tag.name, "order": tag.order, "group": tag.group_id,
              "wecom_tag_id": tag.wecom_tag_id}
    clash = siblings.exclude(pk=tag.pk)
    after = {"name": name if name == tag.name and tag.group_id == group.pk
             else _unique_name(clash, name, wecom_id),
             "order": _wecom_order(item), "group": group.pk, "wecom_tag_id": wecom_id}
    if before != after:
        tag.name, tag.order, tag.group, tag.wecom_tag_id = (after["name"], after["order"],
                                                            group, wecom_id)
        tag.save()
        audit_record(corp=corp, actor=None, action="tag.update", obj=tag,
                     changes=diff(before, after))
        changes["tags_updated"] += 1
    return tag


def corp_tags_apply(*, corp, tag_groups: list, whole_groups: bool = True,
                    complete: bool = False) -> dict:
    """Upserts get_corp_tag_list's ``tag_group`` list here, matched by WeCom ids.

    ``whole_groups``: each group lists all its tags (a query by group id or for everything), so
    a WeCom-linked tag of that group missing from it is deleted here. ``complete``: the list is
    the whole corp (a query without ids), so missing WeCom-linked groups go too. Entries marked
    ``deleted`` (a query by id answers for deleted ones) are deleted here. Tags made in Siyu
    and not yet in WeCom are never touched. Returns counts of what changed.
    """
    changes = dict.fromkeys(("groups_created", "groups_updated", "groups_deleted",
                             "tags_created", "tags_updated", "tags_deleted"), 0)
    with transaction.atomic():
        seen_groups = set()
        for item in tag_groups or []:
            wecom_id = str(item.get("group_id") or "")
            if not wecom_id:
                continue
            if item.get("deleted"):
                changes["groups_deleted"] += tag_group_delete_by_wecom_id(
                    corp=corp, wecom_group_id=wecom_id)
                continue
            group = _group_from_wecom(corp, item, changes)
            seen_groups.add(wecom_id)
            seen_tags = set()
            for tag_item in item.get("tag") or []:
                if not tag_item.get("id"):
                    continue
                if tag_item.get("deleted"):
                    changes["tags_deleted"] += tag_delete_by_wecom_id(
                        corp=corp, wecom_tag_id=str(tag_item["id"]))
                    continue
                _tag_from_wecom(corp, group, tag_item, changes)
                seen_tags.add(str(tag_item["id"]))
            if whole_groups:
                stale = (Tag.objects.for_corp(corp).filter(group=group)
                         .exclude(wecom_tag_id="").exclude(wecom_tag_id__in=seen_tags))
                for wecom_tag_id in list(stale.values_list("wecom_tag_id", flat=True)):
                    changes["tags_deleted"] += tag_delete_by_wecom_id(
                        corp=corp, wecom_tag_id=wecom_tag_id)
        if complete:
            stale_groups = (TagGroup.objects.for_corp(corp).exclude(wecom_group_id="")
                            .exclude(wecom_group_id__in=seen_groups))
            for wecom_group_id in list(stale_groups.values_list("wecom_group_id", flat=True)):
                changes["groups_deleted"] += tag_group_delete_by_wecom_id(
                    corp=corp, wecom_group_id=wecom_group_id)
    return changes


def tag_delete_by_wecom_id(*, corp, wecom_tag_id: str) -> int:
    """WeCom deleted a corp tag: delete it here with its customer links (audited). WeCom drops
    a group with its last tag, so a WeCom-linked group left empty goes too. Returns 1 if a tag
    was deleted, 0 if it was already gone."""
    with transaction.atomic():
        tag = (Tag.objects.for_corp(corp).select_related("group")
               .filter(wecom_tag_id=str(wecom_tag_id)).first())
        if tag is None:
            return 0
        group = tag.group
        links = tag.customer_links.count()
        audit_record(corp=corp, actor=None, action="tag.delete", obj=tag,
                     changes={"name": [tag.name, None], "group": [group.name, None],
                              "customers": [links, 0], "wecom_tag_id": [tag.wecom_tag_id, None]})
        tag.delete()
        if group.wecom_group_id and not Tag.objects.for_corp(corp).filter(group=group).exists():
            tag_group_delete_by_wecom_id(corp=corp, wecom_group_id=group.wecom_group_id)
    return 1


def tag_group_delete_by_wecom_id(*, corp, wecom_group_id: str) -> int:
    """WeCom deleted a tag group: delete it here with its tags and their customer links."""
    with transaction.atomic():
        group = TagGroup.objects.for_corp(corp).filter(wecom_group_id=str(wecom_group_id)).first()
        if group is None:
            return 0
        tags = list(Tag.objects.for_corp(corp).filter(group=group).values_list("name", flat=True))
        links = CustomerTag.objects.for_corp(corp).filter(tag__group=group).count()
        audit_record(corp=corp, actor=None, action="tag_group.delete", obj=group,
                     changes={"name": [group.name, None], "tags": [tags, None],
                              "customers": [links, 0],
                              "wecom_group_id": [group.wecom_group_id, None]})
        group.delete()
    return 1


def wecom_tag_ids_unknown(*, corp, wecom_tag_ids) -> list[str]:
    """The WeCom tag ids among these that no tag here carries yet (to fetch before linking)."""
    wanted = sorted({str(i) for i in wecom_tag_ids if i})
    if not wanted:
        return []
    known = set(Tag.objects.for_corp(corp).filter(wecom_tag_id__in=wanted)
                .values_list("wecom_tag_id", flat=True))
    return [i for i in wanted if i not in known]
