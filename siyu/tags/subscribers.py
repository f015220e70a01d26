"""How the tags app applies WeCom's change_external_tag events (registered in
TagsConfig.ready): corp tags and tag groups, matched by their WeCom ids.

create, update and shuffle re-read what changed (get_corp_tag_list) and apply it; what WeCom
no longer has is deleted here. delete needs no read: WeCom never reuses an id, so deleting is
final and a late create re-reading a deleted tag finds it gone too.
"""

from siyu.accounts.models import Corp
from siyu.core.events import subscribe
from siyu.tags.services import (
    corp_tags_apply,
    tag_delete_by_wecom_id,
    tag_group_delete_by_wecom_id,
)
from siyu.wecom import reads
from siyu.wecom.callback_events import TagChanged

TAG_GROUP = "tag_group"


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


def _changed(corp, event: TagChanged) -> None:
    whole = event.tag_type == TAG_GROUP
    ids = {"group_id": [event.wecom_id]} if whole else {"tag_id": [event.wecom_id]}
    groups = reads.corp_tag_groups(corp, **ids)
    if not _listed(groups, event.wecom_id, event.tag_type):
        _delete(corp, event.wecom_id, event.tag_type)  # deleted since; its delete may be late
        return
    corp_tags_apply(corp=corp, tag_groups=groups, whole_groups=whole)


def _shuffled(corp, event: TagChanged) -> None:
    """Re-ordered: the tags of group Id, or every group when Id is empty."""
    if event.wecom_id:
        corp_tags_apply(corp=corp,
                        tag_groups=reads.corp_tag_groups(corp, group_id=[event.wecom_id]))
    else:
        corp_tags_apply(corp=corp, tag_groups=reads.corp_tag_groups(corp), complete=True)


@subscribe(TagChanged)
def on_tag_changed(event: TagChanged) -> None:
    corp = Corp.objects.get(pk=event.corp_id)
    if event.change == "delete":
        _delete(corp, event.wecom_id, event.tag_type)
    elif event.change == "shuffle":
        _shuffled(corp, event)
    else:
        _changed(corp, event)
