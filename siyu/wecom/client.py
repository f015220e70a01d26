"""The WeCom API client: ``WeComClient`` (async) and ``SyncWeComClient``, one per corp.

    async with client_for(corp) as wecom:            # in async code (the sync engine, fan-out)
        contact = await wecom.get_external_contact(external_userid)

    wecom = sync_client_for(corp)                     # in workers, handlers, commands, tests
    wecom.send_welcome_msg(code, text="Welcome!")

Both share, per process, the token cache (:mod:`.tokens`), the rate limiter (:mod:`.ratelimit`)
and the call log (:mod:`.calllog`), and run the same call flow (:mod:`.flow`): so what one
client does the other does too, and several clients of a corp in one process share leased calls
and tokens. Typed methods are in :mod:`.methods`; each returns WeCom's JSON dict (``errcode`` 0
and ``errmsg`` kept) and raises ``WeComError`` for an errcode retrying will not fix, or
``WeComTransientError`` (a jobs ``TransientError``) once retries are spent.

HTTP: the sync client uses ``httpx.Client``; the async client uses aiohttp (:mod:`.aiohttp_io`),
whose C parser costs a fifth of httpx's CPU per request (0.27 vs 1.48 ms measured against a local
server): the welcome lane makes two calls per add of a burst, on the same two cores as
everything else. Given a ``transport`` (an ``httpx.MockTransport`` in unit tests), the async
client speaks httpx instead, so both clients run the same scripted WeCom.

Event loops: an aiohttp session belongs to the loop it first ran on, so ``client_for``
keeps one client per corp *per running loop* (an ASGI server has one loop: one client per corp);
closing it retires it. Database work of the async client runs through
``sync_to_async(thread_sensitive=True)`` — under ``async_to_sync`` that is the calling thread,
so transactions and test databases behave as in sync code. The sync client runs no loop at all
(plain ``httpx.Client``), so it works in a Django Tasks worker, a thread, or under pytest, even
when called from code that is itself inside ``async_to_sync``'s thread.

Call WeCom outside ``transaction.atomic()``: a transaction held across HTTP blocks SQLite's
single writer, and on PostgreSQL would hold the rate-window rows other processes lease from.
"""

import asyncio
import threading
import time
import weakref

import httpx
from asgiref.sync import sync_to_async

from siyu.wecom import flow
from siyu.wecom.aiohttp_io import REQUEST_ERRORS, AiohttpSender
from siyu.wecom.calllog import CallLog, call_log
from siyu.wecom.clientconf import conf
from siyu.wecom.errors import WeComError, WeComRateLimited, WeComTransientError
from siyu.wecom.methods import WeComMethods
from siyu.wecom.ratelimit import RateLimiter, rate_limiter
from siyu.wecom.tokens import CONTACT, TokenCache, token_cache

__all__ = [
    "SyncWeComClient",
    "WeComClient",
    "WeComError",
    "WeComRateLimited",
    "WeComTransientError",
    "client_for",
    "sync_client_for",
]

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


POOL_SIZE = 32
# The async client's connections (aiohttp): as many as the welcome lane keeps in flight, a whole
# batch. Each add waits on two calls in a row (150 ms or more each at WeCom), so 32 in flight
# allowed only about 75 adds a second per lane, below a live-stream burst (measured on
# PostgreSQL: adds left waiting until past their 20 s). aiohttp finds a free connection without
# scanning its pool, so a larger pool costs nothing per request.
ASYNC_POOL_SIZE = 100


class _ClientBase(WeComMethods):
    def __init__(self, corp, *, transport=None, tokens: TokenCache | None = None,
                 limiter: RateLimiter | None = None, log: CallLog | None = None,
                 sleep=None, retry_base: float | None = None, max_tries: int | None = None,
                 max_wait: float | None = None, secret_kind: str = CONTACT):
        self.corp = corp
        self.base_url = corp.api_base_url
        self.ctx = flow.CallContext(
            corp_id=corp.pk,
            tokens=tokens or token_cache,
            limiter=limiter or rate_limiter,
            log=log or call_log,
            retry_base=float(conf("SIYU_WECOM_RETRY_BASE_SECONDS")
                             if retry_base is None else retry_base),
            max_tries=int(conf("SIYU_WECOM_RETRY_MAX_TRIES") if max_tries is None else max_tries),
            max_wait=float(conf("SIYU_WECOM_MAX_INLINE_WAIT_SECONDS")
                           if max_wait is None else max_wait),
            secret_kind=secret_kind,
        )
        self._transport = transport
        self._sleep = sleep
        self.closed = False

    def _http_options(self) -> dict:
        # Keep as many connections alive as may be in flight (POOL_SIZE), so calls do not pay
        # for new TCP connections; and no more: httpcore scans its whole pool for each request,
        # which at 200 connections took most of the welcome lane's CPU (measured with py-spy).
        return {"base_url": self.base_url,
                "timeout": float(conf("SIYU_WECOM_HTTP_TIMEOUT_SECONDS")),
                "limits": httpx.Limits(max_connections=POOL_SIZE,
                                       max_keepalive_connections=POOL_SIZE),
                "transport": self._transport, "follow_redirects": False}

    def __repr__(self):
        return f"<{type(self).__name__} corp={self.ctx.corp_id} {self.base_url}>"


class WeComClient(_ClientBase):
    """Async client for one corp. Prefer ``client_for(corp)``, which shares it per loop."""

    def __init__(self, corp, **kwargs):
        super().__init__(corp, **kwargs)
        if self._transport is None:
            self.http = AiohttpSender(self.base_url,
                                      timeout=float(conf("SIYU_WECOM_HTTP_TIMEOUT_SECONDS")),
                                      pool_size=ASYNC_POOL_SIZE)
        else:
            self.http = httpx.AsyncClient(**self._http_options())
        self._loop_cache: dict | None = None  # set by client_for, so aclose() can retire it

    async def _request(self, method: str, api: str, params: dict | None = None,
                       body: dict | None = None) -> dict:
        return await self._run(flow.api_call(self.ctx, method, api, params, body))

    async def jsapi_ticket(self) -> str:
        """The corp's jsapi_ticket, cached across processes until shortly before it expires."""
        return await self._run(flow.ticket(self.ctx, "jsapi_ticket", "get_jsapi_ticket"))

    async def agent_config_ticket(self) -> str:
        return await self._run(flow.ticket(self.ctx, "agent_ticket", "ticket/get",
                                           {"type": "agent_config"}))

    async def _run(self, steps):
        value, error = None, None
        try:
            while True:
                try:
                    effect = steps.throw(error) if error else steps.send(value)
                except StopIteration as stop:
                    return stop.value
                try:
                    value, error = await self._perform(effect), None
                except Exception as exc:
                    value, error = None, exc
        finally:
            steps.close()

    async def _perform(self, effect):
        if isinstance(effect, flow.Send):
            started = time.perf_counter()
            try:
                response = await self.http.request(effect.method, effect.api, params=effect.params,
                                                   content=effect.content(),
                                                   headers=JSON_HEADERS if effect.body else None,
                                                   **_timeout(effect))
            except (httpx.RequestError, *REQUEST_ERRORS) as exc:
                return flow.Sent(error=exc, latency_ms=_ms_since(started))
            return flow.Sent(response=response, latency_ms=_ms_since(started))
        if isinstance(effect, flow.Sleep):
            await (self._sleep or asyncio.sleep)(effect.seconds)
            return None
        return await sync_to_async(effect.fn, thread_sensitive=True)(*effect.args, **effect.kwargs)

    async def aclose(self) -> None:
        if self._loop_cache is not None and self._loop_cache.get(_cache_key(self.corp)) is self:
            del self._loop_cache[_cache_key(self.corp)]
        self.closed = True
        await self.http.aclose()
        if self.ctx.log.pending():
            await sync_to_async(self.ctx.log.flush, thread_sensitive=True)()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.aclose()


class SyncWeComClient(_ClientBase):
    """Blocking client for one corp, for worker code. Prefer ``sync_client_for(corp)``."""

    def __init__(self, corp, **kwargs):
        super().__init__(corp, **kwargs)
        self.http = httpx.Client(**self._http_options())

    def _request(self, method: str, api: str, params: dict | None = None,
                 body: dict | None = None) -> dict:
        return self._run(flow.api_call(self.ctx, method, api, params, body))

    def jsapi_ticket(self) -> str:
        """The corp's jsapi_ticket, cached across processes until shortly before it expires."""
        return self._run(flow.ticket(self.ctx, "jsapi_ticket", "get_jsapi_ticket"))

    def agent_config_ticket(self) -> str:
        return self._run(flow.ticket(self.ctx, "agent_ticket", "ticket/get",
                                     {"type": "agent_config"}))

    def _run(self, steps):
        value, error = None, None
        try:
            while True:
                try:
                    effect = steps.throw(error) if error else steps.send(value)
                except StopIteration as stop:
                    return stop.value
                try:
                    value, error = self._perform(effect), None
                except Exception as exc:
                    value, error = None, exc
        finally:
            steps.close()

    def _perform(self, effect):
        if isinstance(effect, flow.Send):
            started = time.perf_counter()
            try:
                response = self.http.request(effect.method, effect.api, params=effect.params,
                                             content=effect.content(),
                                             headers=JSON_HEADERS if effect.body else None,
                                             **_timeout(effect))
            except httpx.RequestError as exc:
                return flow.Sent(error=exc, latency_ms=_ms_since(started))
            return flow.Sent(response=response, latency_ms=_ms_since(started))
        if isinstance(effect, flow.Sleep):
            (self._sleep or time.sleep)(effect.seconds)
            return None
        return effect.fn(*effect.args, **effect.kwargs)

    def close(self) -> None:
        self.closed = True
        self.http.close()
        self.ctx.log.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _timeout(send: flow.Send) -> dict:
    """A call's own timeout, for the HTTP libraries that take one per request (httpx, and
    aiohttp through AiohttpSender)."""
    return {} if send.timeout is None else {"timeout": send.timeout}


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _cache_key(corp) -> tuple:
    # The base URL is part of the key: pointing a corp at the simulator takes effect at once.
    return corp.pk, corp.api_base_url


_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = \
    weakref.WeakKeyDictionary()
_sync_clients = threading.local()


def client_for(corp) -> WeComClient:
    """The async client of ``corp`` for the running event loop (made on first use)."""
    loop = asyncio.get_running_loop()  # RuntimeError outside a loop: use sync_client_for there
    clients = _async_clients.setdefault(loop, {})
    client = clients.get(_cache_key(corp))
    if client is None or client.closed:
        client = clients[_cache_key(corp)] = WeComClient(corp)
        client._loop_cache = clients
    return client


def sync_client_for(corp) -> SyncWeComClient:
    """The blocking client of ``corp`` for this thread (made on first use)."""
    clients = getattr(_sync_clients, "clients", None)
    if clients is None:
        clients = _sync_clients.clients = {}
    client = clients.get(_cache_key(corp))
    if client is None or client.closed:
        client = clients[_cache_key(corp)] = SyncWeComClient(corp)
    return client
