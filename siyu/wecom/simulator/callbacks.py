"""Callbacks to Siyu, as WeCom sends them: the event XML (envelope + fields of wecom-api.md §3),
encrypted with WeComCrypto, POSTed with msg_signature/timestamp/nonce; a 5 s timeout and 3
retries; every delivery and attempt recorded. Deliveries can be held and released in another
order, or sent twice, to test out-of-order and duplicate handling."""

import asyncio
import itertools
import logging
import random
import secrets
import time
from collections import deque

import aiohttp

from siyu.wecom.aiohttp_io import REQUEST_ERRORS
from siyu.wecom.crypto import WeComCrypto

log = logging.getLogger(__name__)

# Field order per event, as in WeCom's examples.
ORDER = {
    "change_external_contact": ("ChangeType", "UserID", "ExternalUserID", "State", "WelcomeCode",
                                "Source", "FailReason"),
    "change_external_chat": ("ChatId", "ChangeType", "UpdateDetail", "JoinScene", "QuitScene",
                             "MemChangeCnt", "MemChangeList", "LastMemVer", "CurMemVer"),
    "change_external_tag": ("Id", "TagType", "ChangeType", "StrategyId"),
}
NUMERIC = {"CreateTime", "JoinScene", "QuitScene", "MemChangeCnt"}


def cdata(value) -> str:
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def event_xml(corp_id: str, event: dict, member_format: str = "items") -> str:
    """The plaintext XML of one event. ``event`` holds "event" (the Event name), CreateTime and
    the §3 fields; MemChangeList is a list, written as <Item>s or, in the older format, as one
    comma-separated string."""
    name = event["event"]
    lines = [f"<ToUserName>{cdata(corp_id)}</ToUserName>",
             f"<FromUserName>{cdata('sys')}</FromUserName>",
             f"<CreateTime>{int(event['CreateTime'])}</CreateTime>",
             f"<MsgType>{cdata('event')}</MsgType>",
             f"<Event>{cdata(name)}</Event>"]
    known = ORDER.get(name, ())
    extra = [k for k in event if k not in (*known, "event", "CreateTime")]
    for key in (*known, *extra):
        if key not in event or event[key] is None:
            continue
        value = event[key]
        if key == "MemChangeList":
            if member_format == "csv":
                lines.append(f"<MemChangeList>{cdata(','.join(value))}</MemChangeList>")
            else:
                items = "".join(f"<Item>{cdata(v)}</Item>" for v in value)
                lines.append(f"<MemChangeList>{items}</MemChangeList>")
        elif key in NUMERIC:
            lines.append(f"<{key}>{int(value)}</{key}>")
        else:
            lines.append(f"<{key}>{cdata(value)}</{key}>")
    return "<xml>" + "".join(lines) + "</xml>"


class CallbackSender:
    def __init__(self, sim, keep: int = 2000):
        self.sim = sim
        self.records: deque = deque(maxlen=keep)
        self.queue: asyncio.Queue | None = None
        self.holding = False
        self.held: list[dict] = []
        self.inflight = 0
        self.ids = itertools.count(1)
        self.rng = random.Random(sim.config.seed + 2)
        # aiohttp rather than httpx: a fifth of the CPU per request, and during a burst the
        # simulator shares the machine with the Siyu it is driving.
        self.client: aiohttp.ClientSession | None = None
        self.workers: list[asyncio.Task] = []

    # -- lifecycle (on the server's loop) ---------------------------------------------------
    async def start(self, workers: int = 1):
        self.queue = asyncio.Queue()
        self.client = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                            connector=aiohttp.TCPConnector(limit=0))
        self.workers = [asyncio.create_task(self._work()) for _ in range(workers)]

    def ensure_workers(self, count: int) -> None:
        """At least ``count`` concurrent deliveries (a burst needs more than one at a time)."""
        while len(self.workers) < count:
            self.workers.append(asyncio.get_running_loop().create_task(self._work()))

    async def stop(self):
        for task in self.workers:
            task.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)
        if self.client is not None:
            await self.client.close()

    # -- enqueue ----------------------------------------------------------------------------
    def send(self, event: dict, *, member_format: str | None = None,
             duplicate: bool | None = None) -> dict:
        config = self.sim.config
        event = {k: v for k, v in event.items() if v is not None}
        event.setdefault("CreateTime", int(self.sim.clock.now()))
        if member_format is None and "MemChangeList" in event:
            member_format = "csv" if self.rng.random() < config.csv_member_ratio else "items"
        xml = event_xml(config.corp_id, event, member_format or "items")
        record = self._record(event, xml, member_format)
        self._enqueue(record)
        if duplicate or (duplicate is None and self.rng.random() < config.duplicate_ratio):
            self._enqueue(self._record(event, xml, member_format, duplicate_of=record["id"]))
        return record

    def record_by_id(self, record_id: int) -> dict | None:
        """A delivery just queued (the newest few are searched)."""
        return next((r for r in itertools.islice(self.records, 8) if r["id"] == record_id), None)

    def _record(self, event, xml, member_format, duplicate_of=None) -> dict:
        record = {"id": next(self.ids), "event": event["event"],
                  "change_type": event.get("ChangeType", ""),
                  "fields": {k: v for k, v in event.items() if k != "event"},
                  "member_format": member_format, "xml": xml, "status": "queued",
                  "attempts": [], "created_at": self.sim.clock.now(),
                  "duplicate_of": duplicate_of}
        self.records.appendleft(record)
        return record

    def _enqueue(self, record):
        if self.holding:
            record["status"] = "held"
            self.held.append(record)
        else:
            self.queue.put_nowait(record)

    def hold(self):
        self.holding = True

    def release(self, order: str = "fifo") -> int:
        """Send the held deliveries in ``order``: fifo, reverse or shuffle."""
        held, self.held, self.holding = self.held, [], False
        if order == "reverse":
            held.reverse()
        elif order == "shuffle":
            self.rng.shuffle(held)
        elif order != "fifo":
            raise ValueError("order must be fifo, reverse or shuffle.")
        for record in held:
            record["status"] = "queued"
            self.queue.put_nowait(record)
        return len(held)

    async def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.queue.qsize() or self.inflight:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    # -- delivery ---------------------------------------------------------------------------
    async def _work(self):
        while True:
            record = await self.queue.get()
            self.inflight += 1
            try:
                await self._deliver(record)
            except Exception:  # a bug here must not stop later deliveries
                log.exception("callback delivery %s crashed", record["id"])
                record["status"] = "failed"
            finally:
                self.inflight -= 1

    async def _deliver(self, record):
        config = self.sim.config
        if not config.callback_url:
            record["status"] = "not_sent"
            return
        crypto = WeComCrypto(config.callback_token, config.aes_key, config.corp_id)
        for attempt in range(1 + max(0, config.callback_retries)):
            if attempt:
                await asyncio.sleep(config.callback_retry_delay)
            # Real time, not the simulator's clock: Siyu checks it against its own clock.
            timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
            body, signature = crypto.encrypted_body(record["xml"], timestamp, nonce)
            started = time.monotonic()
            outcome = {"at": time.time(), "http_status": None, "error": ""}
            try:
                async with self.client.post(
                        config.callback_url, data=body.encode(),
                        params={"msg_signature": signature, "timestamp": timestamp,
                                "nonce": nonce},
                        headers={"Content-Type": "text/xml"},
                        timeout=aiohttp.ClientTimeout(total=config.callback_timeout)) as response:
                    await response.read()
                    outcome["http_status"] = response.status
            except REQUEST_ERRORS as exc:
                outcome["error"] = f"{type(exc).__name__}: {exc}"
            outcome["ms"] = round((time.monotonic() - started) * 1000, 1)
            record["attempts"].append(outcome)
            if outcome["http_status"] == 200:
                record["status"] = "delivered"
                return
        record["status"] = "failed"
        log.warning("callback %s (%s) failed after %d attempts", record["id"],
                    record["change_type"], len(record["attempts"]))

    async def verify_url(self) -> dict:
        """WeCom's URL verification when an admin saves the callback URL: a GET with an
        encrypted echostr that the receiver must answer with the bare plaintext."""
        config = self.sim.config
        if not config.callback_url:
            raise ValueError("No callback_url is configured.")
        crypto = WeComCrypto(config.callback_token, config.aes_key, config.corp_id)
        echo = str(secrets.randbelow(10**19))
        encrypted, signature, timestamp, nonce = crypto.encrypt(echo, timestamp=int(time.time()))
        try:
            async with self.client.get(
                    config.callback_url,
                    timeout=aiohttp.ClientTimeout(total=config.callback_timeout),
                    params={"msg_signature": signature, "timestamp": str(timestamp),
                            "nonce": nonce, "echostr": encrypted}) as response:
                answer = (await response.read()).decode("utf-8", "replace")
                status = response.status
        except REQUEST_ERRORS as exc:
            return {"ok": False, "http_status": None, "error": f"{type(exc).__name__}: {exc}"}
        return {"ok": status == 200 and answer == echo,
                "http_status": status, "expected": echo, "answer": answer[:200]}

    def as_list(self, limit: int = 200, include_xml: bool = False) -> list[dict]:
        out = []
        for record in itertools.islice(self.records, limit):
            item = dict(record)
            if not include_xml:
                item.pop("xml")
            out.append(item)
        return out

    def counts(self) -> dict:
        counts: dict[str, int] = {}
        for record in self.records:
            counts[record["status"]] = counts.get(record["status"], 0) + 1
        return counts
