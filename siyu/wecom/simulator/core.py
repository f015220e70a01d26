"""The simulator: state, clock, tokens, limits, faults, call log and callback sender, and the
request pipeline every /cgi-bin/ call goes through (latency → faults → token → rate limit →
handler → record)."""

import asyncio
import json
import time
from collections import Counter

from siyu.wecom.simulator import population
from siyu.wecom.simulator.api import ROUTES, Request
from siyu.wecom.simulator.api.transfer import settle_transfers
from siyu.wecom.simulator.burst import Bursts
from siyu.wecom.simulator.callbacks import CallbackSender
from siyu.wecom.simulator.clock import Clock
from siyu.wecom.simulator.config import SimConfig
from siyu.wecom.simulator.errors import ApiError
from siyu.wecom.simulator.faults import Faults
from siyu.wecom.simulator.limits import RateLimiter, Tokens
from siyu.wecom.simulator.state import CallLog


class Simulator:
    def __init__(self, config: SimConfig | None = None, *, mirror: dict | None = None,
                 clock: Clock | None = None):
        self.config = config or SimConfig()
        self.clock = clock or Clock()
        self.mirror = mirror
        self.state = population.generate(self.config, self.clock.now(), mirror)
        self.tokens = Tokens(self.clock, self.config)
        self.tickets = Tokens(self.clock, self.config)  # jsapi/agent tickets: not tokens
        self.limiter = RateLimiter(self.clock, self.config)
        self.faults = Faults(self.config.seed)
        self.calls = CallLog()
        self.inflight: Counter = Counter()
        self.sender = CallbackSender(self)
        self.bursts = Bursts(self)
        self.public_url = ""
        self.started_at = time.time()

    def qr_url(self, config_id: str) -> str:
        """The ``qr_code`` of a contact or join way: a PNG that encodes ``scan_url``."""
        return f"{self.public_url}/sim/qr/{config_id}"

    def scan_url(self, config_id: str) -> str:
        return f"{self.public_url}/sim/scan/{config_id}"

    def way_exists(self, config_id: str) -> bool:
        return config_id in self.state.contact_ways or config_id in self.state.join_ways

    def emit(self, event: dict, **options) -> dict:
        """Queue one callback (see CallbackSender.send)."""
        return self.sender.send(event, **options)

    def settle(self) -> None:
        """Let time-driven state catch up with the clock (transfers complete after 24 h)."""
        for event in settle_transfers(self):
            self.emit(event)

    # -- the /cgi-bin/ pipeline -------------------------------------------------------------
    async def call_api(self, path: str, query: dict, body: bytes) -> tuple[int, dict]:
        started = time.monotonic()
        route = ROUTES.get(path)
        api = path if (route or path == "gettoken") else "(unknown)"
        self.inflight[api] += 1
        try:
            if route and self.config.max_concurrency and \
                    self.inflight[api] > self.config.max_concurrency:
                raise ApiError(45033)
            if self.config.latency_ms:
                await asyncio.sleep(self.config.latency_ms / 1000)
            status, data = 200, await self._answer(path, route, query, body)
        except ApiError as err:
            status, data = (404 if api == "(unknown)" else 200), {
                "errcode": err.errcode, "errmsg": err.errmsg}
        finally:
            self.inflight[api] -= 1
        self.calls.record(api, data["errcode"], (time.monotonic() - started) * 1000,
                          self.clock.now())
        return status, data

    async def _answer(self, path, route, query, body) -> dict:
        config = self.config
        if route is None and path != "gettoken":
            raise ApiError(48001, f"no such api: /cgi-bin/{path}")
        api = path
        fault = self.faults.take(api)
        if fault is not None:
            if fault["timeout"]:
                await asyncio.sleep(config.timeout_hang_s)
                raise ApiError(-1, "injected timeout")
            raise ApiError(fault["errcode"], "injected fault")
        self.settle()
        if path == "gettoken":
            kind = self._secret_kind(query)
            self.limiter.check(api)
            token, expires_in = self.tokens.issue(kind)
            return {"errcode": 0, "errmsg": "ok", "access_token": token,
                    "expires_in": expires_in}
        kind = self.tokens.check(query.get("access_token"))
        if kind not in route.kinds:
            raise ApiError(48002, f"the {kind} secret may not call {path}")
        self.limiter.check(api)
        payload = {}
        if body.strip():
            try:
                payload = json.loads(body)
            except ValueError:
                raise ApiError(47001, "the body is not valid JSON") from None
            if not isinstance(payload, dict):
                raise ApiError(47001, "the body must be a JSON object")
        result = route.handler(self, Request(query=query, body=payload, now=self.clock.now(),
                                             kind=kind))
        return {"errcode": 0, "errmsg": "ok", **result}

    def _secret_kind(self, query) -> str:
        corpid, secret = query.get("corpid"), query.get("corpsecret")
        if not corpid:
            raise ApiError(41002)
        if not secret:
            raise ApiError(41004)
        if corpid != self.config.corp_id:
            raise ApiError(40013, corpid)
        if secret == self.config.contact_secret:
            return "contact"
        if secret == self.config.app_secret:
            return "app"
        raise ApiError(40001, "corpsecret does not match")

    # -- inspection -------------------------------------------------------------------------
    def summary(self) -> dict:
        state = self.state
        return {
            "corp_id": self.config.corp_id, "public_url": self.public_url,
            "clock": {"now": self.clock.now(), "offset": self.clock.offset},
            "config": self.config.as_dict(), "population": state.population_summary(),
            "tokens": self.tokens.as_dict(), "limits": self.limiter.as_dict(),
            "faults": list(self.faults.rules), "callbacks": self.sender.counts(),
            "received": {
                "welcome_messages": len(state.welcome_messages),
                "tag_marks": len(state.tag_marks), "contact_ways": len(state.contact_ways),
                "join_ways": len(state.join_ways), "msg_templates": len(state.msg_templates),
                "group_welcome_templates": len(state.group_welcome_templates),
                "moments": len(state.moments), "transfers": len(state.transfers),
                "remarks": len(state.remarks)},
            "calls": {api: sum(c.values()) for api, c in self.calls.counts.items()},
        }

    def population(self) -> dict:
        state = self.state
        return {
            "departments": list(state.departments.values()),
            "users": list(state.users.values()),
            "customers": [dict(c, follow_user=[state.follow_json(f)
                                               for f in state.follows[c["external_userid"]]
                                               .values()])
                          for c in state.customers.values()],
            "tag_groups": [state.tag_group_json(g) for g in state.tag_groups.values()],
            "groups": list(state.chats.values()),
        }
