"""The welcome lane: welcome messages for new adds, sent in batches within WeCom's 20 s.

WeCom accepts an add's WelcomeCode for 20 seconds, once. During a live-stream burst (150 adds a
second) one task per add costs more CPU than two cores have, so every worker process runs this
lane in a thread of its own (registered with siyu.core.jobs.register_lane):

1. take the newest adds still awaiting their welcome (``WeComEvent.welcome_due``, set by
   ingress), newest first: under overload the oldest are the ones past saving; one conditional
   UPDATE takes them, so each add is in one lane's round only;
2. claim their deliveries with one insert (siyu.engagement.welcome_batch), so a welcome is
   never sent twice, whoever else (another lane, the add's own dispatch) tries;
3. read each customer from WeCom and send the welcome, all concurrently on one event loop;
4. record the outcomes with one update, and keep what was read on the event (``carry``) for the
   add's dispatch, which does the rest of the add later (customer, tags, attribution) without
   asking WeCom again.

The add's dispatch task is queued by ingress as for any event and still calls welcome_send, so
nothing depends on the lane running: without it (or after a crash) the dispatch sends the
welcome itself, as long as the 20 s allow.
"""

import asyncio
import logging
import secrets
import threading
import time

from asgiref.sync import sync_to_async
from django.db import connections

from siyu.accounts.models import Corp
from siyu.acquisition.live_codes.attribution import live_code_welcome, live_codes_by_state
from siyu.customers.reconcile import wecom_datetime
from siyu.engagement.services import WELCOME_WINDOW_SECONDS, late_reason
from siyu.engagement.welcome import welcome_render
from siyu.engagement.welcome_batch import Outcome, welcome_claim_batch, welcome_finish_batch
from siyu.wecom.client import ASYNC_POOL_SIZE, client_for
from siyu.wecom.errors import WeComError
from siyu.wecom.handlers.common import CONTACT_GONE, contact_view
from siyu.wecom.models import WeComEvent
from siyu.wecom.welcome import add_event_of, rejection_reason

logger = logging.getLogger("siyu.wecom.welcome_lane")

BATCH = 100  # at most ASYNC_POOL_SIZE: a round's sends all go at once
CLEANUP_SECONDS = 30.0


class WelcomeLane:
    """One per worker process; :meth:`run_round` is called over and over by the lane thread.
    The event loop lives as long as the lane, so WeCom clients (connections, token, leased
    calls) are reused from round to round."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self._next_cleanup = 0.0

    def _forget_expired(self, due, cutoff: int) -> None:
        """Clears the flag of adds past saving (their dispatch records them as late), so the
        partial index stays small. Every CLEANUP_SECONDS, not on each idle round: that would be
        a write ten times a second per process (on SQLite, the database's write lock)."""
        now = time.monotonic()
        if now >= self._next_cleanup:
            self._next_cleanup = now + CLEANUP_SECONDS
            due.filter(create_time__lt=cutoff).update(welcome_due=False)

    def run_round(self) -> int:
        """One batch; returns how many adds were due (0: none). Counted before taking them: a
        round whose adds another process's lane took first still tells the worker that a burst
        is on (see siyu.core.jobs.lanes)."""
        cutoff = int(time.time()) - WELCOME_WINDOW_SECONDS
        events = WeComEvent.objects.unscoped()
        due = events.filter(welcome_due=True)
        ids = list(due.filter(create_time__gte=cutoff).order_by("-create_time", "-id")
                   .values_list("pk", flat=True)[:BATCH])
        if not ids:
            self._forget_expired(due, cutoff)
            return 0
        # Take them: whatever another process's lane took meanwhile stays with it.
        token = secrets.token_hex(8)
        due.filter(pk__in=ids).update(welcome_due=False, welcome_round=token)
        events = list(events.filter(welcome_round=token, pk__in=ids))
        by_corp: dict[int, list[WeComEvent]] = {}
        for event in events:
            by_corp.setdefault(event.corp_id, []).append(event)
        corps = Corp.objects.in_bulk(list(by_corp))
        for corp_id, corp_events in by_corp.items():
            self._round_for_corp(corps[corp_id], corp_events)
        return len(ids)

    def _round_for_corp(self, corp, events: list[WeComEvent]) -> None:
        adds = [add_event_of(e) for e in events]
        codes = live_codes_by_state(corp, {a.state for a in adds})
        overrides = {a.dedupe_key: live_code_welcome(codes.get(a.state),
                                                     at=wecom_datetime(a.create_time))
                     for a in adds if a.state in codes}
        pending = welcome_claim_batch(corp, adds, overrides=overrides)
        results = self.loop.run_until_complete(_send_all(corp, pending)) if pending else []
        welcome_finish_batch([outcome for outcome, _view in results])
        carries = {p.event.event_id: view for (_o, view), p in zip(results, pending, strict=True)
                   if view is not None}
        read = [e for e in events if e.pk in carries]
        for event in read:
            event.carry = carries[event.pk]
        if read:
            WeComEvent.objects.for_corp(corp).bulk_update(read, ["carry"])

    def close(self) -> None:
        # The client's database work (token, rate windows) ran in asgiref's sync thread:
        # close that thread's connection too.
        self.loop.run_until_complete(sync_to_async(connections.close_all,
                                                   thread_sensitive=True)())
        self.loop.close()


async def _send_all(corp, pending) -> list[tuple[Outcome, dict | None]]:
    client = client_for(corp)
    # As many in flight as the client keeps connections (see client.ASYNC_POOL_SIZE).
    slots = asyncio.Semaphore(ASYNC_POOL_SIZE)

    async def one(item):
        async with slots:
            return await _send_one(client, item)

    return list(await asyncio.gather(*(one(p) for p in pending)))


async def _customer_view(client, external_userid: str) -> dict | None:
    """WeCom's view of the customer, shaped as the add's dispatch reads it (``carry``)."""
    try:
        answer = await client.get_external_contact(external_userid)
    except WeComError as error:
        if error.errcode in CONTACT_GONE:
            return None
        raise
    contact, follows = contact_view(answer, external_userid)
    return {"contact": contact, "follows": follows}


async def _send_one(client, pending) -> tuple[Outcome, dict | None]:
    event, view = pending.event, None
    try:
        view = await _customer_view(client, event.external_userid)
    except Exception as error:  # the name is a nicety; the welcome still goes out
        logger.warning("Welcome lane: reading customer %s failed (%s); sending without the "
                       "name.", event.external_userid, error)
    name = str(((view or {}).get("contact") or {}).get("name") or "")
    if (late := late_reason(event)) is not None:
        return Outcome(pending, sent=False, reason=late), view
    text = welcome_render(pending.welcome.text, customer_name=name,
                          employee_name=pending.employee_name)
    try:
        await client.send_welcome_msg(event.welcome_code, text=text or None,
                                      attachments=pending.welcome.attachments)
    except WeComError as error:
        return Outcome(pending, sent=False, reason=rejection_reason(error),
                       errcode=error.errcode), view
    except Exception as error:
        # Network trouble past the client's retries: whether WeCom got it is unknown, and a
        # WelcomeCode is single-use, so it is not tried again.
        logger.warning("Welcome lane: sending for event %s failed: %s", event.event_id, error)
        return Outcome(pending, sent=False, reason=f"not confirmed: {error}"[:255]), view
    return Outcome(pending, sent=True), view


_lanes: dict[int, WelcomeLane] = {}


def run_welcome_round() -> int:
    """The lane hook (see siyu.wecom.apps): one round of this thread's lane."""
    lane = _lanes.get(threading.get_ident())
    if lane is None:
        lane = _lanes[threading.get_ident()] = WelcomeLane()
    return lane.run_round()

