"""Stage "groups": customer groups through groupchat/list (cursor) and groupchat/get (details
and members, fetched concurrently per page). Each page's groups and its cursor commit together.
A full sync then marks local groups WeCom no longer lists as dismissed."""

import asyncio
import time

from siyu.groups.models import CustomerGroup, GroupMember
from siyu.groups.services import group_dismiss, group_upsert_from_wecom
from siyu.wecom.sync.concurrency import run_all

STAGE = "groups"
PAGE_LIMIT = 1000  # WeCom's maximum for groupchat/list

GROUP_FIELDS = ("name", "owner_userid", "notice", "status")
MEMBER_FIELDS = ("member_type", "name", "join_scene", "invitor_userid", "state", "quit_at")


async def run(ctx) -> None:
    if ctx.stage_done(STAGE):
        return
    await ctx.db(ctx.enter_stage, STAGE)
    state = ctx.state.setdefault(STAGE, {"cursor": "", "done": False, "pages": 0, "seen": []})
    semaphore = asyncio.Semaphore(ctx.concurrency)
    while not state["done"]:
        async with semaphore:
            page = await ctx.client.groupchat_list(status_filter=0, cursor=state["cursor"],
                                                   limit=PAGE_LIMIT)
        chat_ids = [g["chat_id"] for g in page.get("group_chat_list") or []]
        details = await _fetch_details(ctx, chat_ids, semaphore)
        await ctx.db(apply_page, ctx, [details[c] for c in chat_ids if details.get(c)],
                     page.get("next_cursor") or "")
        ctx.page_committed(STAGE)
    if ctx.full:
        await ctx.db(dismiss_unlisted, ctx)
    await ctx.db(ctx.mark_stage_done, STAGE)


async def _fetch_details(ctx, chat_ids: list[str], semaphore) -> dict[str, dict]:
    details: dict[str, dict] = {}

    async def fetch(chat_id: str) -> None:
        async with semaphore:
            details[chat_id] = (await ctx.client.groupchat_get(chat_id)).get("group_chat")

    await run_all(fetch(chat_id) for chat_id in chat_ids)
    return details


def apply_page(ctx, chats: list[dict], next_cursor: str) -> None:
    chat_ids = [chat["chat_id"] for chat in chats]
    before = _snapshot(ctx.corp, chat_ids)
    for chat in chats:
        # groupchat/get lists every member, so members not listed have left.
        group_upsert_from_wecom(corp=ctx.corp, chat=chat, prune_members=True)
    _record_changes(ctx, before, _snapshot(ctx.corp, chat_ids))
    state = ctx.state[STAGE]
    if ctx.full:
        state["seen"].extend(chat_ids)
    state["cursor"], state["done"] = next_cursor, not next_cursor
    state["pages"] += 1
    ctx.progress(STAGE, add=len(chats), total=ctx.run.progress[STAGE]["total"] + len(chats))


def _snapshot(corp, chat_ids: list[str]) -> dict:
    groups = {row["chat_id"]: row for row in CustomerGroup.objects.for_corp(corp)
              .filter(chat_id__in=chat_ids).values("chat_id", *GROUP_FIELDS)}
    members = {(row["group__chat_id"], row["userid"]): row for row in GroupMember.objects
               .for_corp(corp).filter(group__chat_id__in=chat_ids)
               .values("group__chat_id", "group__name", "userid", *MEMBER_FIELDS)}
    return {"groups": groups, "members": members}


def _record_changes(ctx, before: dict, after: dict) -> None:
    for key, row in after["groups"].items():
        old = before["groups"].get(key)
        if old != row:
            ctx.count("groups", "created" if old is None else "updated", row["name"] or key)
    for key, row in after["members"].items():
        old = before["members"].get(key)
        label = f"{row['group__name'] or key[0]}: {row['name'] or row['userid']}"
        if old is None or (old["quit_at"] is not None and row["quit_at"] is None):
            if row["quit_at"] is None:
                ctx.count("group_members", "created", label)
        elif old["quit_at"] is None and row["quit_at"] is not None:
            ctx.count("group_members", "deleted", label)
        elif old != row:
            ctx.count("group_members", "updated", label)


def dismiss_unlisted(ctx) -> None:
    seen = set(ctx.state[STAGE]["seen"])
    # Compared in Python: a corp's chat ids can outnumber a database's bound-parameter limit.
    active = CustomerGroup.objects.for_corp(ctx.corp).filter(status=CustomerGroup.Status.ACTIVE)
    now = int(time.time())
    for group in (g for g in active if g.chat_id not in seen):
        group_dismiss(corp=ctx.corp, chat_id=group.chat_id, event_time=now)
        ctx.count("groups", "deleted", group.name or group.chat_id)
