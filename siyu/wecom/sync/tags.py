"""Stage "tags": corp tags both ways.

Pull: get_corp_tag_list is applied by WeCom ids with the service the tag callbacks use (a local
group or tag of the same name without an id is linked, not duplicated). A full sync also
removes local tags and groups carrying a WeCom id that WeCom no longer has.

Push: local tags without a WeCom id are created with add_corp_tag, one call per group, and
WeCom's answer is applied the same way, which stores the new ids. The stage re-runs whole when
interrupted: the pull then links what an earlier attempt pushed (by name), so nothing is
pushed twice.
"""

from siyu.tags.models import Tag, TagGroup
from siyu.tags.services import corp_tags_apply

STAGE = "tags"


async def run(ctx) -> None:
    if ctx.stage_done(STAGE):
        return
    await ctx.db(ctx.enter_stage, STAGE)
    listing = (await ctx.client.get_corp_tag_list()).get("tag_group") or []
    await ctx.db(apply_pull, ctx, listing)
    for push in await ctx.db(pending_pushes, ctx):
        response = await ctx.client.add_corp_tag(**push["request"])
        await ctx.db(apply_push, ctx, push, response.get("tag_group") or {})
        ctx.page_committed(STAGE)
    await ctx.db(ctx.mark_stage_done, STAGE)


def _snapshot(corp) -> dict:
    groups = {("tag_groups", g["pk"]): (g["name"], g["wecom_group_id"], g["order"])
              for g in TagGroup.objects.for_corp(corp).values("pk", "name", "wecom_group_id",
                                                              "order")}
    tags = {("tags", t["pk"]): (f"{t['group__name']}/{t['name']}", t["wecom_tag_id"],
                                t["order"], t["group_id"])
            for t in Tag.objects.for_corp(corp).values("pk", "name", "group__name", "group_id",
                                                       "wecom_tag_id", "order")}
    return {**groups, **tags}


def apply_pull(ctx, listing: list[dict]) -> None:
    ctx.progress(STAGE, done=0, total=len(listing))
    before = _snapshot(ctx.corp)
    # Incremental: add and update only. Full: the list is the whole truth, so WeCom-linked
    # tags and groups missing from it are deleted here.
    corp_tags_apply(corp=ctx.corp, tag_groups=listing, whole_groups=ctx.full, complete=ctx.full)
    after = _snapshot(ctx.corp)
    for key, value in after.items():
        old = before.get(key)
        if old is None:
            ctx.count(key[0], "created", value[0])
        elif old != value:
            ctx.count(key[0], "updated", value[0])
    for key, value in before.items():
        if key not in after:
            ctx.count(key[0], "deleted", value[0])
    ctx.progress(STAGE, done=len(listing))


def pending_pushes(ctx) -> list[dict]:
    """One add_corp_tag request per local group that has tags WeCom lacks."""
    pushes = []
    for group in TagGroup.objects.for_corp(ctx.corp).prefetch_related("tags"):
        tags = [t for t in group.tags.all() if not t.wecom_tag_id]
        if not tags:
            continue  # WeCom has no empty groups: a group exists through its tags
        # WeCom shows larger ``order`` first, Siyu smaller first (see corp_tags_apply).
        request = {"tag": [{"name": t.name, "order": -t.order} for t in tags]}
        if group.wecom_group_id:
            request["group_id"] = group.wecom_group_id
        else:
            request.update(group_name=group.name, order=-group.order)
        pushes.append({"tag_ids": [t.pk for t in tags], "request": request})
    entry = ctx.run.progress.get(STAGE, {})
    ctx.progress(STAGE, total=entry.get("total", 0) + len(pushes))
    return pushes


def apply_push(ctx, push: dict, created: dict) -> None:
    # Only the new tags are in the answer: apply it without treating the group as complete.
    corp_tags_apply(corp=ctx.corp, tag_groups=[created] if created else [], whole_groups=False)
    for tag in (Tag.objects.for_corp(ctx.corp).filter(pk__in=push["tag_ids"])
                .exclude(wecom_tag_id="").select_related("group")):
        ctx.count("tags_pushed", "created", f"{tag.group.name}/{tag.name}")
    ctx.progress(STAGE, add=1)
