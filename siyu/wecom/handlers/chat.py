"""change_external_chat: customer groups and their members.

create and update re-read the group (groupchat/get) and apply it; add_member / del_member also
record who joined or left at the callback's CreateTime. dismiss needs no read: the group is
gone in WeCom. The group services decide by time what a late callback may still change.
"""

from siyu.acquisition.group_codes.services import group_codes_for_group_changed
from siyu.groups.services import (
    group_dismiss,
    group_ensure,
    group_members_joined,
    group_members_quit,
    group_upsert_from_wecom,
)
from siyu.wecom.dispatch import handles
from siyu.wecom.handlers import common

EVENT = "change_external_chat"


def _chat(corp, chat_id: str) -> dict | None:
    answer = common.fetch(common.client(corp).groupchat_get, chat_id, gone=common.CHAT_GONE)
    return (answer or {}).get("group_chat") or None


def _changed_members(payload: dict) -> list[str]:
    # Ingress hands a list; older clients' comma-separated string is accepted here too.
    members = payload.get("MemChangeList") or []
    if isinstance(members, str):
        members = members.split(",")
    return [str(m).strip() for m in members if str(m).strip()]


@handles(EVENT, "create")
def on_chat_create(corp, payload: dict, event) -> None:
    [chat_id] = common.required(payload, "ChatId")
    chat = _chat(corp, chat_id)
    if chat is None:
        group = group_ensure(corp=corp, chat_id=chat_id)
    else:
        group = group_upsert_from_wecom(corp=corp, chat=chat,
                                        event_time=common.event_time(payload))
    # Created for a group live code (auto_create_room): the code takes it up.
    group_codes_for_group_changed(corp=corp, group=group)


@handles(EVENT, "update")
def on_chat_update(corp, payload: dict, event) -> None:
    """UpdateDetail: add_member, del_member, change_owner, change_name or change_notice."""
    [chat_id] = common.required(payload, "ChatId")
    when = common.event_time(payload)
    chat = _chat(corp, chat_id)
    if chat is None:
        group = group_ensure(corp=corp, chat_id=chat_id)
    else:
        # Name and owner first, so the joins and quits below are recorded under them.
        group = group_upsert_from_wecom(corp=corp, chat=chat, event_time=when, members=False)
    detail = payload.get("UpdateDetail")
    if detail == "add_member":
        group_members_joined(corp=corp, group=group, userids=_changed_members(payload),
                             event_time=when, join_scene=payload.get("JoinScene"), chat=chat)
    elif detail == "del_member":
        group_members_quit(corp=corp, group=group, userids=_changed_members(payload),
                           event_time=when, quit_scene=payload.get("QuitScene"), chat=chat)
    if chat is not None:
        group_upsert_from_wecom(corp=corp, chat=chat, event_time=when)
    # Group live codes over this group move on once it is full (or has room again).
    group_codes_for_group_changed(corp=corp, group=group)


@handles(EVENT, "dismiss")
def on_chat_dismiss(corp, payload: dict, event) -> None:
    [chat_id] = common.required(payload, "ChatId")
    group = group_dismiss(corp=corp, chat_id=chat_id, event_time=common.event_time(payload))
    group_codes_for_group_changed(corp=corp, group=group)
