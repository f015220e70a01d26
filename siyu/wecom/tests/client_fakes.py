"""A scripted WeCom behind ``httpx.MockTransport`` for the client's unit tests, and a sleep
that moves a frozen clock instead of waiting."""

import json
from collections import defaultdict, deque

import httpx

from siyu.wecom.calllog import CallLog
from siyu.wecom.client import SyncWeComClient, WeComClient
from siyu.wecom.ratelimit import RateLimiter
from siyu.wecom.tokens import TokenCache

OK = {"errcode": 0, "errmsg": "ok"}


class ScriptedWeCom:
    """gettoken issues TOKEN-1, TOKEN-2, …; every other API answers the next scripted reply
    for it (a dict, an httpx.Response, or an exception to raise), else ``OK`` — after checking
    the access token like WeCom does (42001 for a token it expired, 40014 for an unknown one).
    """

    def __init__(self, secret: str = "contact-secret", expires_in: int = 7200):  # noqa: S107
        self.secret, self.expires_in = secret, expires_in
        self.requests: list[httpx.Request] = []
        self.issued: list[str] = []
        self.expired: set[str] = set()
        self.scripts: dict[str, deque] = defaultdict(deque)

    def script(self, api: str, *replies) -> None:
        self.scripts[api].extend(replies)

    def expire_tokens(self) -> None:
        self.expired.update(self.issued)

    def calls(self, api: str) -> list[httpx.Request]:
        return [r for r in self.requests if api_of(r) == api]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        api = api_of(request)
        if api == "gettoken":
            return self._gettoken(request)
        if self.scripts[api]:
            reply = self.scripts[api].popleft()
            if isinstance(reply, Exception):
                raise reply
            if isinstance(reply, httpx.Response):
                return reply
            if reply.get("errcode", 0) != 0:
                return httpx.Response(200, json=reply)
        else:
            reply = OK
        token = request.url.params.get("access_token")
        if token in self.expired:
            return httpx.Response(200, json={"errcode": 42001, "errmsg": "access_token expired"})
        if token not in self.issued:
            return httpx.Response(200, json={"errcode": 40014, "errmsg": "invalid access_token"})
        return httpx.Response(200, json=reply)

    def _gettoken(self, request):
        if self.scripts["gettoken"]:
            reply = self.scripts["gettoken"].popleft()
            if isinstance(reply, Exception):
                raise reply
            return httpx.Response(200, json=reply)
        if request.url.params.get("corpsecret") != self.secret:
            return httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential"})
        token = f"TOKEN-{len(self.issued) + 1}"
        self.issued.append(token)
        return httpx.Response(200, json={**OK, "access_token": token,
                                         "expires_in": self.expires_in})


def api_of(request: httpx.Request) -> str:
    return request.url.path.removeprefix("/cgi-bin/")


def body_of(request: httpx.Request) -> dict:
    return json.loads(request.content.decode()) if request.content else {}


class ClockSleep:
    """A sleep that shifts a time-machine traveller, recording each wait."""

    def __init__(self, traveller=None):
        self.traveller = traveller
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.traveller is not None:
            self.traveller.shift(seconds)

    async def asleep(self, seconds: float) -> None:
        self(seconds)


def isolated(**overrides) -> dict:
    """Process-local state of its own, as if the client ran in another process."""
    return {"tokens": TokenCache(), "limiter": RateLimiter(), "log": CallLog(), **overrides}


def sync_client(corp, wecom: ScriptedWeCom, sleep: ClockSleep | None = None, **kwargs):
    return SyncWeComClient(corp, transport=httpx.MockTransport(wecom), sleep=sleep or ClockSleep(),
                           retry_base=1.0, **kwargs)


def async_client(corp, wecom: ScriptedWeCom, sleep: ClockSleep | None = None, **kwargs):
    sleep = sleep or ClockSleep()
    return WeComClient(corp, transport=httpx.MockTransport(wecom), sleep=sleep.asleep,
                       retry_base=1.0, **kwargs)
