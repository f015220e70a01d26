"""REST endpoints for tag groups and tags: /api/v1/tag-groups…, /api/v1/tags…

Reading needs ``tags.view``; every change needs ``tags.manage``. Tags are corp-wide.
"""

from ninja import Router, Status

from siyu.core.api_support import READ_ERRORS, WRITE_ERRORS, ObjectId
from siyu.tags.schemas import (
    TagGroupIn,
    TagGroupOut,
    TagGroupPatchIn,
    TagIn,
    TagOut,
    TagPatchIn,
)
from siyu.tags.selectors import tag_get_for, tag_group_get_for, tag_groups_for, tags_for
from siyu.tags.services import (
    tag_create,
    tag_delete,
    tag_group_create,
    tag_group_delete,
    tag_group_update,
    tag_update,
)

router = Router(tags=["tags"])


def _tag_out(tag) -> dict:
    return {"id": tag.pk, "name": tag.name, "order": tag.order, "group_id": tag.group_id,
            "group": tag.group.name}


def _group_out(group) -> dict:
    return {"id": group.pk, "name": group.name, "order": group.order,
            "tags": [{"id": t.pk, "name": t.name, "order": t.order} for t in group.tags.all()]}


def _group_detail(actor, group_id) -> dict:
    # Re-read through the selector so the nested tags come back in their display order.
    return _group_out(tag_groups_for(actor).get(pk=group_id))


@router.get("/tag-groups", response={200: list[TagGroupOut], **READ_ERRORS})
def list_tag_groups(request):
    """Every tag group of your enterprise with its tags, in display order."""
    return [_group_out(group) for group in tag_groups_for(request.user)]


@router.post("/tag-groups", response={201: TagGroupOut, **WRITE_ERRORS})
def create_tag_group(request, payload: TagGroupIn):
    """Creates a group, optionally with its first tags (``tag_names``)."""
    actor = request.user
    group = tag_group_create(corp=actor.corp, actor=actor, name=payload.name,
                             order=payload.order, tag_names=payload.tag_names)
    return Status(201, _group_detail(actor, group.pk))


@router.patch("/tag-groups/{group_id}", response={200: TagGroupOut, **WRITE_ERRORS})
def update_tag_group(request, group_id: ObjectId, payload: TagGroupPatchIn):
    actor = request.user
    group = tag_group_get_for(actor, group_id, "tags.manage")
    tag_group_update(corp=actor.corp, actor=actor, group=group, name=payload.name,
                     order=payload.order)
    return _group_detail(actor, group.pk)


@router.delete("/tag-groups/{group_id}", response={204: None, **WRITE_ERRORS})
def delete_tag_group(request, group_id: ObjectId):
    """Deletes the group, its tags, and those tags on every customer."""
    actor = request.user
    group = tag_group_get_for(actor, group_id, "tags.manage")
    tag_group_delete(corp=actor.corp, actor=actor, group=group)
    return Status(204, None)


@router.post("/tag-groups/{group_id}/tags", response={201: TagOut, **WRITE_ERRORS})
def create_tag(request, group_id: ObjectId, payload: TagIn):
    actor = request.user
    group = tag_group_get_for(actor, group_id, "tags.manage")
    tag = tag_create(corp=actor.corp, actor=actor, group=group, name=payload.name,
                     order=payload.order)
    return Status(201, _tag_out(tag))


@router.get("/tags", response={200: list[TagOut], **READ_ERRORS})
def list_tags(request):
    """Every tag of your enterprise, flat, with its group."""
    return [_tag_out(tag) for tag in tags_for(request.user)]


@router.patch("/tags/{tag_id}", response={200: TagOut, **WRITE_ERRORS})
def update_tag(request, tag_id: ObjectId, payload: TagPatchIn):
    actor = request.user
    tag = tag_get_for(actor, tag_id, "tags.manage")
    tag = tag_update(corp=actor.corp, actor=actor, tag=tag, name=payload.name,
                     order=payload.order)
    return _tag_out(tag)


@router.delete("/tags/{tag_id}", response={204: None, **WRITE_ERRORS})
def delete_tag(request, tag_id: ObjectId):
    """Deletes the tag and removes it from every customer."""
    actor = request.user
    tag = tag_get_for(actor, tag_id, "tags.manage")
    tag_delete(corp=actor.corp, actor=actor, tag=tag)
    return Status(204, None)
