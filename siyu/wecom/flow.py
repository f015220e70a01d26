"""What one WeCom API call does, written once for the async and the sync client.

A flow is a generator that yields *effects* and receives their results:

* ``Send`` — an HTTP request; the result is a ``Sent`` (the response, or the network error);
* ``Sleep`` — wait that many seconds;
* ``Db`` — run a synchronous function that touches the database (token cache, rate windows,
  call log).

``WeComClient`` performs them with ``httpx.AsyncClient``, ``asyncio.sleep`` and
``sync_to_async``; ``SyncWeComClient`` with ``httpx.Client``, ``time.sleep`` and plain calls. So
retries, token refresh, rate limiting and the call log behave the same in both, and the sync
client needs no event loop at all (a worker thread, a management command or a test just calls
it). The hot path yields no ``Db`` effect: the token and leased calls are in memory, and the
call log is written about once a second.

One call (``api_call``):
1. wait for the rate limiter (``ratelimit``); a wait longer than the client allows raises
   ``WeComRateLimited``;
2. take the access token (``tokens``), fetching it when no process has a valid one;
3. send; record the outcome in the call log;
4. errcode 0 → return the JSON body (``errcode``/``errmsg`` kept);
   40001/40014/42001 → the token is refused: get a new one and retry, once;
   45009 → mark the API blocked, wait the block out, retry (at most ``MAX_BLOCKS`` times);
   -1, 45033, 41096, network errors, timeouts, HTTP 5xx → retry after base × 2ⁿ seconds, at
   most ``max_tries`` tries in all, then ``WeComTransientError`` (a jobs ``TransientError``);
   anything else → ``WeComError`` at once.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from siyu.wecom.calllog import CallLog
from siyu.wecom.errors import (
    RATE_LIMITED,
    TOKEN_ERRCODES,
    TRANSIENT_ERRCODES,
    WeComError,
    WeComRateLimited,
    WeComTransientError,
)
from siyu.wecom.ratelimit import RateLimiter
from siyu.wecom.tokens import CONTACT, TokenCache, credentials_for

logger = logging.getLogger("siyu.wecom.client")

MAX_BLOCKS = 3  # 45009 answers one call waits out before giving up
TOKEN_POLL_SECONDS = 0.2  # while another process refreshes the token
TOKEN_WAIT_SECONDS = 30.0
GETTOKEN_TIMEOUT_SECONDS = 2.5


@dataclass(frozen=True)
class Send:
    method: str
    api: str  # path under the corp's API base URL, e.g. "externalcontact/get"
    params: dict
    body: dict | None = None
    timeout: float | None = None  # seconds; None: the client's own (SIYU_WECOM_HTTP_TIMEOUT)

    def content(self) -> bytes | None:
        # WeCom takes UTF-8 JSON; Chinese text is sent as is, not \\u-escaped.
        if self.body is None:
            return None
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Sent:
    response: httpx.Response | None = None
    error: Exception | None = None
    latency_ms: int = 0


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Db:
    fn: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass
class CallContext:
    corp_id: int
    tokens: TokenCache
    limiter: RateLimiter
    log: CallLog
    retry_base: float
    max_tries: int
    max_wait: float
    secret_kind: str = CONTACT


@dataclass(frozen=True)
class Outcome:
    errcode: int | None
    errmsg: str
    data: dict | None
    http_status: int | None
    transient: bool


def interpret(sent: Sent) -> Outcome:
    """What a response (or a network error) means to the retry logic."""
    if sent.error is not None:
        return Outcome(None, f"{type(sent.error).__name__}: {sent.error}"[:255], None, None, True)
    response = sent.response
    status = response.status_code
    if status >= 500 or status == 429:
        return Outcome(None, f"HTTP {status}", None, status, True)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Outcome(None, f"HTTP {status}: the response is not a JSON object", None, status,
                       False)
    try:
        errcode = int(data.get("errcode", 0))
    except (TypeError, ValueError):
        return Outcome(None, f"HTTP {status}: errcode is not a number", None, status, False)
    return Outcome(errcode, str(data.get("errmsg", "")), data, status,
                   errcode in TRANSIENT_ERRCODES)


def backoff(ctx: CallContext, tries: int) -> float:
    return ctx.retry_base * 2 ** (tries - 1)


def record(ctx: CallContext, api: str, outcome: Outcome, sent: Sent, attempt: int):
    ctx.log.record(corp_id=ctx.corp_id, api=api, errcode=outcome.errcode, errmsg=outcome.errmsg,
                   http_status=outcome.http_status, latency_ms=sent.latency_ms, attempt=attempt)
    if ctx.log.due():
        yield Db(ctx.log.flush_if_due)


def permit(ctx: CallContext, api: str):
    """Waits until the rate limiter lets one call of ``api`` go."""
    while True:
        wait = ctx.limiter.try_take(ctx.corp_id, api)
        if wait is None:
            wait = yield Db(ctx.limiter.lease, (ctx.corp_id, api))
        if wait <= 0:
            return
        if wait > ctx.max_wait:
            raise WeComRateLimited(api, wait)
        yield Sleep(wait)


def api_call(ctx: CallContext, method: str, api: str, params: dict | None = None,
             body: dict | None = None):
    tries = attempt = blocks = 0
    rejected: str | None = None
    while True:
        yield from permit(ctx, api)
        try:
            token = yield from access_token(ctx, rejected=rejected)
        except WeComTransientError:
            tries += 1
            if tries >= ctx.max_tries:
                raise
            yield Sleep(backoff(ctx, tries))
            continue
        attempt += 1
        sent = yield Send(method, api, {**(params or {}), "access_token": token}, body)
        outcome = interpret(sent)
        yield from record(ctx, api, outcome, sent, attempt)
        if outcome.errcode == 0:
            return outcome.data
        if outcome.errcode in TOKEN_ERRCODES and rejected is None:
            rejected = token
            continue
        if outcome.errcode == RATE_LIMITED:
            blocks += 1
            if blocks > MAX_BLOCKS:
                raise WeComRateLimited(api, 0, outcome.errmsg)
            yield Db(ctx.limiter.block, (ctx.corp_id, api, outcome.errmsg))
            continue
        if outcome.transient:
            tries += 1
            if tries >= ctx.max_tries:
                raise WeComTransientError(outcome.errcode,
                                          f"{outcome.errmsg} (after {tries} tries)", api)
            delay = backoff(ctx, tries)
            logger.info("WeCom %s: %s; try %d of %d in %.1f s", api, outcome.errmsg or
                        outcome.errcode, tries + 1, ctx.max_tries, delay)
            yield Sleep(delay)
            continue
        raise WeComError(outcome.errcode, outcome.errmsg, api)


# --- tokens and tickets -------------------------------------------------------------------------

def access_token(ctx: CallContext, *, rejected: str | None = None):
    return (yield from cached_credential(ctx, ctx.secret_kind, fetch_access_token,
                                         rejected=rejected))


def ticket(ctx: CallContext, kind: str, api: str, params: dict | None = None):
    """A JS-SDK ticket (``jsapi_ticket`` of the corp, ``agent_ticket`` of the app), cached like
    the token: WeCom allows only 400 ticket requests an hour."""
    def fetch(ctx, _kind):
        data = yield from api_call(ctx, "GET", api, params)
        return data["ticket"], int(data.get("expires_in", 7200))

    return (yield from cached_credential(ctx, kind, fetch))


def cached_credential(ctx: CallContext, kind: str, fetch, *, rejected: str | None = None):
    if rejected:
        ctx.tokens.forget(ctx.corp_id, kind, rejected)
    else:
        value = ctx.tokens.peek(ctx.corp_id, kind)
        if value:
            return value
    waited = 0.0
    while True:
        step = yield Db(ctx.tokens.resolve, (ctx.corp_id, kind), {"rejected": rejected})
        if step.token:
            return step.token
        if step.fetch:
            try:
                value, expires_in = yield from fetch(ctx, kind)
            except Exception:
                yield Db(ctx.tokens.release, (ctx.corp_id, kind))
                raise
            yield Db(ctx.tokens.store, (ctx.corp_id, kind, value, expires_in))
            return value
        if waited >= TOKEN_WAIT_SECONDS:
            raise WeComTransientError(
                None, "Another process is refreshing the token and has not finished.", kind)
        yield Sleep(TOKEN_POLL_SECONDS)
        waited += TOKEN_POLL_SECONDS


def fetch_access_token(ctx: CallContext, kind: str):
    corpid, secret = yield Db(credentials_for, (ctx.corp_id, kind))
    if not secret:
        raise WeComError(None, "The enterprise has no customer contact secret configured.",
                         "gettoken")
    # Bounded well below the refresh claim (tokens.CLAIM_SECONDS): a claimer that hangs on
    # gettoken gives the claim up before the others, waiting for it, lose the welcome window.
    sent = yield Send("GET", "gettoken", {"corpid": corpid, "corpsecret": secret},
                      timeout=GETTOKEN_TIMEOUT_SECONDS)
    outcome = interpret(sent)
    yield from record(ctx, "gettoken", outcome, sent, 1)
    if outcome.errcode == 0 and outcome.data.get("access_token"):
        return outcome.data["access_token"], int(outcome.data.get("expires_in", 7200))
    if outcome.transient:
        raise WeComTransientError(outcome.errcode, outcome.errmsg, "gettoken")
    raise WeComError(outcome.errcode, outcome.errmsg or "no access_token in the answer",
                     "gettoken")
