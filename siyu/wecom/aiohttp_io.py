"""aiohttp with the slice of httpx's interface the WeCom client uses: ``request()`` returning
something with ``status_code`` and ``json()``, and ``aclose()``."""

import asyncio
import json
from dataclasses import dataclass

import aiohttp

# What a request that got no HTTP answer raises (refused, reset, timed out): the client maps it
# to a network error, as it does httpx.RequestError.
REQUEST_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


@dataclass(frozen=True)
class Answer:
    status_code: int
    content: bytes

    def json(self):
        return json.loads(self.content)


def query_value(value) -> str:
    """A query parameter as httpx writes it: true/false, "" for None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def query(params: dict | None) -> list[tuple[str, str]]:
    pairs = []
    for name, value in (params or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(name, query_value(v)) for v in values]
    return pairs


class AiohttpSender:
    """One aiohttp session, made on first use inside the running loop (aiohttp ties a session
    to the loop it was made on) and kept: connections are reused from call to call."""

    def __init__(self, base_url: str, *, timeout: float, pool_size: int):
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.pool_size = pool_size
        self.session: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool_size),
                cookie_jar=aiohttp.DummyCookieJar(), timeout=self.timeout)
        return self.session

    async def request(self, method: str, url: str, *, params: dict | None = None,
                      content: bytes | None = None, headers: dict | None = None,
                      timeout: float | None = None) -> Answer:
        target = url if "://" in url else self.base_url + url.lstrip("/")
        options = {} if timeout is None else {"timeout": aiohttp.ClientTimeout(total=timeout)}
        async with self._session().request(method, target, params=query(params), data=content,
                                           headers=headers, allow_redirects=False,
                                           **options) as response:
            return Answer(response.status, await response.read())

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
