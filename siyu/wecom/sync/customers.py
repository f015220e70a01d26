"""Stage "customers": every follow user's customers through externalcontact/batch/get_by_user.

Follow users are split into groups (``users_per_call``, ≤100 as WeCom allows); the groups page
concurrently, at most ``concurrency`` requests in flight, each page upserted and its cursor
saved in one transaction. A resumed run continues each group from its saved cursor.

A full sync then asks externalcontact/list for every follow user and ends the local follow
relations WeCom no longer has.
"""

import asyncio
import time

from siyu.accounts.models import Employee
from siyu.customers.models import FollowRelation
from siyu.customers.reconcile import customer_upsert_from_wecom, follow_end_from_wecom
from siyu.wecom.errors import WeComError
from siyu.wecom.sync.concurrency import chunks, run_all
from siyu.wecom.sync.customer_changes import (
    is_unchanged,
    known_tag_ids,
    record_changes,
    snapshot,
)

STAGE = "customers"
CHECK_STAGE = "follow_check"  # full sync only
PAGE_LIMIT = 100  # WeCom's maximum for batch/get_by_user
NO_CUSTOMERS = 84061  # externalcontact/list answers this for a member without customers


async def run(ctx) -> None:
    if ctx.stage_done(STAGE):
        return
    await ctx.db(ctx.enter_stage, STAGE)
    userids = ctx.state.get("follow_users", [])
    # The grouping is part of the saved state: cursors are only valid for the same groups.
    size = await ctx.db(_group_size, ctx)
    groups = chunks(userids, size)
    semaphore = asyncio.Semaphore(ctx.concurrency)
    await ctx.db(_prepare, ctx, groups)
    await run_all(_page_group(ctx, str(i), group, semaphore) for i, group in enumerate(groups))
    if ctx.full:
        await _check_ended_follows(ctx, userids, semaphore)
    await ctx.db(ctx.mark_stage_done, STAGE)


def _group_size(ctx) -> int:
    state = ctx.state.setdefault(STAGE, {"groups": {}})
    return state.setdefault("users_per_call", max(1, min(ctx.users_per_call, 100)))


def _prepare(ctx, groups: list[list[str]]) -> None:
    state = ctx.state[STAGE]
    for i, _group in enumerate(groups):
        state["groups"].setdefault(str(i), {"cursor": "", "done": False, "pages": 0})
    done_users = sum(len(g) for i, g in enumerate(groups) if state["groups"][str(i)]["done"])
    ctx.progress(STAGE, done=done_users, total=sum(len(g) for g in groups))


async def _page_group(ctx, key: str, userids: list[str], semaphore) -> None:
    group_state = ctx.state[STAGE]["groups"][key]
    while not group_state["done"]:
        async with semaphore:
            page = await ctx.client.batch_get_by_user(userids, cursor=group_state["cursor"],
                                                      limit=PAGE_LIMIT)
        await ctx.db(apply_page, ctx, key, userids, page)
        ctx.page_committed(STAGE)


def apply_page(ctx, key: str, userids: list[str], page: dict) -> None:
    items = page.get("external_contact_list") or []
    external_ids = sorted({item["external_contact"]["external_userid"] for item in items})
    before = snapshot(ctx.corp, external_ids)
    tags_known = known_tag_ids(ctx.corp, items)
    for item in items:
        if not is_unchanged(item, before, tags_known):
            customer_upsert_from_wecom(corp=ctx.corp, contact=item["external_contact"],
                                       follow=follow_user_entry(item.get("follow_info") or {}))
    record_changes(ctx, before, snapshot(ctx.corp, external_ids))
    group_state = ctx.state[STAGE]["groups"][key]
    group_state["cursor"] = page.get("next_cursor") or ""
    group_state["pages"] += 1
    finished = not group_state["cursor"]
    group_state["done"] = finished
    entry = ctx.run.progress.get(STAGE, {})
    ctx.progress(STAGE, add=len(userids) if finished else 0,
                 items=entry.get("items", 0) + len(items))


def follow_user_entry(follow_info: dict) -> dict:
    """batch/get_by_user's follow_info in externalcontact/get's follow_user shape (what the
    upsert service reads): corp tag ids become ``tags`` entries of type 1 (corp tag)."""
    entry = {k: v for k, v in follow_info.items() if k != "tag_id"}
    entry["tags"] = [{"tag_id": tag_id, "type": 1} for tag_id in follow_info.get("tag_id") or []]
    return entry


async def _check_ended_follows(ctx, userids: list[str], semaphore) -> None:
    checked = set(ctx.state[STAGE].setdefault("checked", []))
    await ctx.db(ctx.progress, CHECK_STAGE, done=len(checked), total=len(userids))

    async def check(userid: str) -> None:
        async with semaphore:
            try:
                listing = await ctx.client.list_external_contacts(userid)
            except WeComError as exc:
                if exc.errcode != NO_CUSTOMERS:
                    raise
                listing = {}
        await ctx.db(end_missing_follows, ctx, userid, listing.get("external_userid") or [])
        ctx.page_committed(CHECK_STAGE)

    await run_all(check(u) for u in userids if u not in checked)


def end_missing_follows(ctx, userid: str, external_ids: list[str]) -> None:
    employee = Employee.objects.for_corp(ctx.corp).filter(userid=userid).first()
    if employee is not None:
        listed = set(external_ids)
        # Compared in Python: a member's customers can outnumber a database's bound-parameter
        # limit. Customers without an external userid were made in Siyu, not in WeCom.
        active = (FollowRelation.objects.for_corp(ctx.corp)
                  .filter(employee=employee, deleted_at__isnull=True,
                          customer__external_userid__isnull=False)
                  .select_related("customer", "employee"))
        now = int(time.time())
        for follow in (f for f in active if f.customer.external_userid not in listed):
            # WeCom no longer lists the customer under this member: the member deleted the
            # customer (a customer who deletes the member stays listed on the member's side).
            follow_end_from_wecom(corp=ctx.corp, customer=follow.customer, employee=employee,
                                  deleted_by=FollowRelation.DeletedBy.EMPLOYEE, event_time=now,
                                  source="sync")
            ctx.count("follows", "deleted", f"{follow.customer.name} ↔ {employee.name}")
    ctx.state[STAGE]["checked"].append(userid)
    ctx.progress(CHECK_STAGE, add=1)
