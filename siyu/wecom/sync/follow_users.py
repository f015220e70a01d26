"""Stage "follow_users": the members with customer contact enabled. Their list is kept in the
run's state, so a resumed run pages through the same user groups with the saved cursors."""

STAGE = "follow_users"


async def run(ctx) -> None:
    if ctx.stage_done(STAGE):
        return
    await ctx.db(ctx.enter_stage, STAGE)
    userids = (await ctx.client.get_follow_user_list()).get("follow_user", [])
    await ctx.db(apply, ctx, sorted(set(userids)))
    await ctx.db(ctx.mark_stage_done, STAGE)


def apply(ctx, userids: list[str]) -> None:
    ctx.state["follow_users"] = userids
    ctx.progress(STAGE, done=len(userids), total=len(userids))
