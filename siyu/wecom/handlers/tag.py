"""change_external_tag: corp tags and tag groups, matched by their WeCom ids.

create, update and shuffle re-read what changed (get_corp_tag_list) and apply it; what WeCom
no longer has is deleted here. delete needs no read: WeCom never reuses an id, so deleting is
final and a late create re-reading a deleted tag finds it gone too.
"""

from siyu.tags.services import (
    corp_tags_apply,
    tag_delete_by_wecom_id,
    tag_group_delete_by_wecom_id,
)
from siyu.wecom.dispatch import handles
from siyu.wecom.handlers import common

EVENT = "change_external_tag"
TAG_GROUP = "tag_group"


def _tag_groups(corp, **ids) -> list:
    answer = common.fetch(common.client(corp).get_corp_tag_list, gone=common.TAG_GONE, **ids)
    return list((answer or {}).get("tag_group") or [])


def _listed(groups: list, wecom_id: str, tag_type: str) -> bool:
    if tag_type == TAG_GROUP:
        return any(str(g.get("group_id")) == wecom_id and not g.get("deleted") for g in groups)
    return any(str(t.get("id")) == wecom_id and not t.get("deleted")
               for g in groups for t in g.get("tag") or [])


def _delete(corp, wecom_id: str, tag_type: str) -> None:
    if tag_type == TAG_GROUP:
        tag_group_delete_by_wecom_id(corp=corp, wecom_group_id=wecom_id)
    else:
        tag_delete_by_wecom_id(corp=corp, wecom_tag_id=wecom_id)


@handles(EVENT, "create")
@handles(EVENT, "update")
def on_tag_changed(corp, payload: dict, event) -> None:
    [wecom_id] = common.required(payload, "Id")
    tag_type = payload.get("TagType") or "tag"
    if tag_type == TAG_GROUP:
        groups = _tag_groups(corp, group_id=[wecom_id])
    else:
        groups = _tag_groups(corp, tag_id=[wecom_id])
    if not _listed(groups, wecom_id, tag_type):
        _delete(corp, wecom_id, tag_type)  # deleted since; its delete callback may be late
        return
    corp_tags_apply(corp=corp, tag_groups=groups, whole_groups=tag_type == TAG_GROUP)


@handles(EVENT, "delete")
def on_tag_deleted(corp, payload: dict, event) -> None:
    [wecom_id] = common.required(payload, "Id")
    _delete(corp, wecom_id, payload.get("TagType") or "tag")


@handles(EVENT, "shuffle")
def on_tags_shuffled(corp, payload: dict, event) -> None:
    """Re-ordered: the tags of group Id, or every group when Id is empty."""
    wecom_id = str(payload.get("Id") or "").strip()
    if wecom_id:
        corp_tags_apply(corp=corp, tag_groups=_tag_groups(corp, group_id=[wecom_id]))
    else:
        corp_tags_apply(corp=corp, tag_groups=_tag_groups(corp), complete=True)
