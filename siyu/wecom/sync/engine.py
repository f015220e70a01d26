"""Runs the stages of a sync in order on one event loop (the async client fans out within a
stage; every database write runs back on the calling thread through ``SyncContext.db``)."""

import asyncio
import contextlib
import logging

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.utils.translation import gettext as _

from siyu.wecom.models import SyncRun
from siyu.wecom.sync import customers, follow_users, groups, org, tags
from siyu.wecom.sync.context import SyncContext
from siyu.wecom.sync.runs import (
    stale_after,
    sync_run_claim,
    sync_run_fail,
    sync_run_finish,
)

logger = logging.getLogger("siyu.wecom.sync")

# Tags come before customers so that the tag ids in each customer's follow_info resolve to
# local tags on the first sync already; groups come last so their members link to customers.
STAGES = (org, follow_users, tags, customers, groups)
STAGE_NAMES = tuple(stage.STAGE for stage in STAGES)

DEFAULT_CONCURRENCY = 4
# Follow users per batch/get_by_user request (WeCom allows 100). Smaller groups page in
# parallel and move the progress bar; each group costs at most one extra, partly filled page.
DEFAULT_USERS_PER_CALL = 10


def _default_client(corp):
    from siyu.wecom.client import client_for

    return client_for(corp)


async def _keep_beating(ctx: SyncContext) -> None:
    """Keeps the heartbeat fresh while a call waits long (a rate-limit block, slow retries),
    so no other process takes the run for dead while this one is alive."""
    interval = max(1.0, stale_after().total_seconds() / 6)
    while True:
        await asyncio.sleep(interval)
        await sync_to_async(ctx.beat, thread_sensitive=True)()


async def _execute(ctx: SyncContext, client_factory) -> None:
    owns_client = ctx.client is None
    if owns_client:
        # Made inside the loop that uses it: an async HTTP client belongs to one event loop.
        ctx.client = client_factory(ctx.corp)
    beating = asyncio.create_task(_keep_beating(ctx))
    try:
        for stage in STAGES:
            await stage.run(ctx)
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        close = getattr(ctx.client, "aclose", None) if owns_client else None
        if close is not None:
            await close()
        if owns_client:
            ctx.client = None


def sync_execute(run: SyncRun, *, client=None, client_factory=None, after_page=None,
                 on_progress=None, concurrency: int | None = None,
                 users_per_call: int = DEFAULT_USERS_PER_CALL) -> SyncRun:
    """Claims ``run`` and carries it to the end from wherever its state says it stopped.

    On an error the run is marked failed (cursors kept, so the next sync resumes it) and the
    error re-raised. A process killed outright leaves it running; once its heartbeat is stale
    the next sync resumes it the same way.
    """
    run = sync_run_claim(run)
    ctx = SyncContext(
        run=run, client=client, after_page=after_page, on_progress=on_progress,
        concurrency=concurrency or getattr(settings, "SIYU_SYNC_CONCURRENCY",
                                           DEFAULT_CONCURRENCY),
        users_per_call=users_per_call,
    )
    try:
        async_to_sync(_execute)(ctx, client_factory or _default_client)
    except (Exception, KeyboardInterrupt, asyncio.CancelledError) as exc:
        if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError):
            message = _("Interrupted; the next sync continues from here.")
        else:
            message = f"{type(exc).__name__}: {exc}"
        logger.warning("sync #%s of corp %s failed in stage %s: %s", run.pk, run.corp_id,
                       run.stage, message)
        sync_run_fail(run, message)
        raise
    sync_run_finish(run)
    return run
