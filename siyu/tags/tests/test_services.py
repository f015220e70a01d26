import pytest

from siyu.core.errors import Conflict, PermissionDenied, ValidationFailed
from siyu.core.models import AuditLog
from siyu.tags.models import Tag, TagGroup
from siyu.tags.services import (
    tag_create,
    tag_delete,
    tag_group_create,
    tag_group_delete,
    tag_group_update,
    tag_update,
)


def test_group_with_tags_is_created_atomically(world):
    group = tag_group_create(corp=world.corp, actor=world.admin, name="兴趣",
                             tag_names=["护肤", "彩妆"])
    assert [t.name for t in group.tags.order_by("order")] == ["护肤", "彩妆"]
    with pytest.raises(ValidationFailed):
        tag_group_create(corp=world.corp, actor=world.admin, name="新组",
                         tag_names=["好", "x" * 31])
    assert not TagGroup.objects.for_corp(world.corp).filter(name="新组").exists()
    with pytest.raises(Conflict):
        tag_group_create(corp=world.corp, actor=world.admin, name="兴趣")


def test_same_names_are_fine_across_corps(world, other_world):
    tag_group_create(corp=world.corp, actor=world.admin, name="共同")
    tag_group_create(corp=other_world.corp, actor=other_world.admin, name="共同")
    assert TagGroup.objects.unscoped().filter(name="共同").count() == 2


def test_only_admins_manage_tags(world):
    group = world.tags["vip"].group
    for actor in (world.manager, world.staff_a):
        with pytest.raises(PermissionDenied):
            tag_create(corp=world.corp, actor=actor, group=group, name="新标签")
    assert not Tag.objects.for_corp(world.corp).filter(name="新标签").exists()


def test_rename_delete_audited(world):
    vip = world.tags["vip"]
    tag_update(corp=world.corp, actor=world.admin, tag=vip, name="超级VIP")
    other = tag_create(corp=world.corp, actor=world.admin, group=vip.group, name="普通")
    with pytest.raises(Conflict):
        tag_update(corp=world.corp, actor=world.admin, tag=other, name="超级VIP")
    tag_group_update(corp=world.corp, actor=world.admin, group=vip.group, name="等级")
    tag_delete(corp=world.corp, actor=world.admin, tag=other)
    actions = list(AuditLog.objects.for_corp(world.corp).order_by("id")
                   .values_list("action", "changes"))
    assert ("tag.update", {"name": ["VIP", "超级VIP"]}) in actions
    assert ("tag_group.update", {"name": ["客户等级", "等级"]}) in actions
    assert ("tag.delete", {"name": ["普通", None]}) in actions
    tag_group_delete(corp=world.corp, actor=world.admin, group=vip.group)
    assert not Tag.objects.for_corp(world.corp).exists()
