"""The welcome lane: the one path by which an add's welcome message is sent.

WeCom accepts an add's WelcomeCode for 20 seconds, once. Every worker process runs this lane
(registered with siyu.core.jobs.register_lane), continuously:

* every round (about every 100 ms: the worker calls :meth:`WelcomeLane.run_round` again after
  ``lanes.IDLE_SECONDS``), it takes the newest adds awaiting their welcome from the stored
  callbacks (siyu.wecom.welcome_feed), as many as it has free sending slots;
* it claims their deliveries with one insert (siyu.engagement.welcome_batch): the delivery row
  is unique per add, so a welcome is never sent twice, whichever lane took the add;
* each send starts at once as its own task on an event loop that runs in a thread of its own,
  so a slow WeCom answer holds up only its own add, never a round (no head-of-line blocking);
* outcomes are written in batches as sends finish, one statement per round.

Which welcome: a registered source's (a channel live code's own welcome,
siyu.engagement.welcome_sources), else the employee's, else their department's. The customer's
name is Siyu's for a returning customer, else read from WeCom when the text asks for it.
A send WeCom answers with an error is recorded with its errcode and reason (41051: the code
expired or was used); a send whose outcome is unknown (the network failed after the client's
retries) is recorded as not confirmed and never tried again, as is a delivery left "sending" by
a killed worker (welcome_deliveries_close_stopped): a WelcomeCode is single-use.
"""

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import Future

from asgiref.sync import sync_to_async
from django.db import connections

from siyu.accounts.models import Corp
from siyu.engagement.services import late_reason
from siyu.engagement.welcome import welcome_render
from siyu.engagement.welcome_batch import Outcome, welcome_claim_batch, welcome_finish_batch
from siyu.engagement.welcome_sources import welcome_overrides
from siyu.wecom import welcome_feed
from siyu.wecom.client import ASYNC_POOL_SIZE, client_for
from siyu.wecom.errors import WeComError
from siyu.wecom.reads import CONTACT_GONE

logger = logging.getLogger("siyu.engagement.lane")

SLOTS = ASYNC_POOL_SIZE  # sends in flight per process: as many as the client keeps connections
CLEANUP_SECONDS = 30.0
NAME_PLACEHOLDER = "{customer_name}"


class WelcomeLane:
    """One per worker process. The lane thread calls :meth:`run_round` over and over; the sends
    run on an event loop in a thread of their own, so WeCom clients (connections, token, leased
    calls) live as long as the lane."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self._sender = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="welcome-sends")
        self._sender.start()
        self._finished: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self.in_flight = 0
        self._next_cleanup = 0.0

    def run_round(self) -> int:
        """Records what finished, starts what is due; returns how many adds it took (0: none
        were due), which tells the worker whether a burst is on (siyu.core.jobs.lanes)."""
        self.flush()
        free = SLOTS - self.in_flight
        adds = welcome_feed.take_due(free) if free > 0 else []
        if not adds:
            self._cleanup()
            return 0
        self._start(adds)
        return len(adds)

    def _start(self, adds) -> None:
        by_corp: dict[int, list] = {}
        for add in adds:
            by_corp.setdefault(add.corp_id, []).append(add)
        corps = Corp.objects.in_bulk(list(by_corp))
        for corp_id, corp_adds in by_corp.items():
            self._start_for_corp(corps[corp_id], corp_adds)

    def _start_for_corp(self, corp, adds) -> None:
        pending = welcome_claim_batch(corp, adds, overrides=welcome_overrides(corp, adds))
        for item in pending:
            self.in_flight += 1
            future = asyncio.run_coroutine_threadsafe(_send_one(corp, item), self.loop)
            future.add_done_callback(lambda f, item=item: self._finished.put(_outcome(f, item)))

    def flush(self) -> int:
        """Writes the outcomes of every send finished since the last flush (one statement)."""
        outcomes = []
        while True:
            try:
                outcomes.append(self._finished.get_nowait())
            except queue.Empty:
                break
        if outcomes:
            self.in_flight -= len(outcomes)
            welcome_finish_batch(outcomes)
        return len(outcomes)

    def drain(self, timeout: float = 30.0) -> None:
        """Waits for every send in flight and records it (tests, and a stopping worker)."""
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            if not self.flush():
                time.sleep(0.01)

    def _cleanup(self) -> None:
        """Records adds no lane took in time as late, every CLEANUP_SECONDS, not on each idle
        round: that would be a write ten times a second per process (on SQLite, the database's
        write lock). Their claim settles them at once (siyu.engagement.services.not_to_send)."""
        now = time.monotonic()
        if now >= self._next_cleanup:
            self._next_cleanup = now + CLEANUP_SECONDS
            while expired := welcome_feed.take_expired(SLOTS):
                self._start(expired)

    def close(self) -> None:
        self.drain()
        # The client's database work (token, rate windows) ran in asgiref's sync thread:
        # close that thread's connection too.
        asyncio.run_coroutine_threadsafe(
            sync_to_async(connections.close_all, thread_sensitive=True)(), self.loop
        ).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._sender.join(timeout=10)
        self.loop.close()


def _outcome(future: Future, pending) -> Outcome:
    try:
        return future.result()
    except Exception as error:  # a bug in a send must not leave the delivery "sending"
        logger.exception("Welcome lane: the send for event %s failed.", pending.event.event_id)
        return Outcome(pending, sent=False, reason=f"not confirmed: {error}"[:255])


async def _customer_name(client, external_userid: str) -> str:
    try:
        answer = await client.get_external_contact(external_userid)
    except WeComError as error:
        if error.errcode in CONTACT_GONE:
            return ""
        raise
    return str(((answer or {}).get("external_contact") or {}).get("name") or "")


async def _send_one(corp, pending) -> Outcome:
    event, name = pending.event, pending.customer_name
    client = client_for(corp)
    if not name and NAME_PLACEHOLDER in pending.welcome.text:
        try:
            name = await _customer_name(client, event.external_userid)
        except Exception as error:  # the name is a nicety; the welcome still goes out
            logger.warning("Welcome lane: reading customer %s failed (%s); sending without "
                           "the name.", event.external_userid, error)
    if (late := late_reason(event)) is not None:
        return Outcome(pending, sent=False, reason=late)
    text = welcome_render(pending.welcome.text, customer_name=name,
                          employee_name=pending.employee_name)
    try:
        await client.send_welcome_msg(event.welcome_code, text=text or None,
                                      attachments=pending.welcome.attachments)
    except WeComError as error:
        return Outcome(pending, sent=False, reason=welcome_feed.rejection_reason(error),
                       errcode=error.errcode)
    except Exception as error:
        # Network trouble past the client's retries: whether WeCom got it is unknown, and a
        # WelcomeCode is single-use, so it is not tried again.
        logger.warning("Welcome lane: sending for event %s failed: %s", event.event_id, error)
        return Outcome(pending, sent=False, reason=f"not confirmed: {error}"[:255])
    return Outcome(pending, sent=True)


_lanes: dict[int, WelcomeLane] = {}


def run_welcome_round() -> int:
    """The lane hook (registered in EngagementConfig.ready): one round of this thread's lane."""
    lane = _lanes.get(threading.get_ident())
    if lane is None:
        lane = _lanes[threading.get_ident()] = WelcomeLane()
    return lane.run_round()
