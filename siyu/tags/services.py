"""Writes for tag groups and tags. Tagging customers lives in customers.services."""

from django.db import transaction
from django.utils.translation import gettext as _

from siyu.accounts.scoping import require
from siyu.core.audit import audit_record, diff
from siyu.core.errors import Conflict, ValidationFailed
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
