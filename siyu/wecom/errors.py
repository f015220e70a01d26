"""Errors of the WeCom API client and what the errcodes of wecom-api.md §1 mean to it."""

from siyu.core.jobs import TransientError

# A token WeCom no longer accepts (40014 also comes back for expired tokens): refresh, retry once.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
# Busy (-1), concurrency limit (45033), another app sending the welcome message (41096).
TRANSIENT_ERRCODES = frozenset({-1, 45033, 41096})
RATE_LIMITED = 45009


class WeComError(Exception):
    """WeCom answered with a non-zero errcode that retrying will not fix (or the response was
    not WeCom's JSON). ``errcode`` is None when there was no errcode to report."""

    def __init__(self, errcode: int | None, errmsg: str, api: str):
        self.errcode, self.errmsg, self.api = errcode, errmsg, api
        super().__init__(f"WeCom {api}: errcode {errcode}: {errmsg}")


class WeComTransientError(WeComError, TransientError):
    """Still failing after the client's retries (busy, concurrency limit, network errors).

    A :class:`~siyu.core.jobs.TransientError`, so a job that lets it escape is retried later
    under its retry policy."""


class WeComRateLimited(WeComTransientError):
    """The API is blocked (45009) or its window is spent for longer than the client waits
    inline; ``retry_after`` says how many seconds until calls may go again."""

    def __init__(self, api: str, retry_after: float, errmsg: str = "rate limited"):
        self.retry_after = retry_after
        super().__init__(45009, f"{errmsg} (calls may resume in {retry_after:.0f} s)", api)
