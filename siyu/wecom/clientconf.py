"""The API client's settings, each with its default; read at use time so tests can override.

SIYU_WECOM_HTTP_TIMEOUT_SECONDS    per request (connect, read, write, pool); default 10
SIYU_WECOM_RETRY_BASE_SECONDS      backoff base: waits base × 2ⁿ between tries; default 1
SIYU_WECOM_RETRY_MAX_TRIES         tries per call on transient failures; default 5
SIYU_WECOM_MAX_INLINE_WAIT_SECONDS longest wait for a rate window or a 45009 block inside a call;
                                   longer waits raise WeComRateLimited (a TransientError, so a job
                                   retries later instead of holding a worker); default 120
SIYU_WECOM_RATE_LIMITS             {api: (per_minute, per_hour)} overriding ratelimit.DEFAULT_LIMITS
                                   ("*" for every API; None for no limit in that window)
SIYU_WECOM_RATE_HEADROOM           fraction of each limit the limiter hands out; default 0.9,
                                   because our clock-aligned windows and WeCom's may be skewed
SIYU_WECOM_RATE_LEASE              calls a process reserves per database round trip; default 100
SIYU_WECOM_MINUTE_BLOCK_SECONDS    how long a 45009 blocks an API; default 60, as WeCom does
SIYU_WECOM_HOUR_BLOCK_SECONDS      the same when the hour limit was hit; default 3600, as WeCom
SIYU_WECOM_CALL_LOG_FLUSH_ROWS     buffered API-call rows that trigger a write; default 200
SIYU_WECOM_CALL_LOG_FLUSH_SECONDS  age of the oldest buffered row that triggers a write; default 1
SIYU_WECOM_CALL_LOG_DAYS           days API-call rows are kept; default 7
"""

from django.conf import settings

DEFAULTS = {
    "SIYU_WECOM_HTTP_TIMEOUT_SECONDS": 10.0,
    "SIYU_WECOM_RETRY_BASE_SECONDS": 1.0,
    "SIYU_WECOM_RETRY_MAX_TRIES": 5,
    "SIYU_WECOM_MAX_INLINE_WAIT_SECONDS": 120.0,
    "SIYU_WECOM_RATE_LIMITS": {},
    "SIYU_WECOM_RATE_HEADROOM": 0.9,
    "SIYU_WECOM_RATE_LEASE": 100,
    "SIYU_WECOM_MINUTE_BLOCK_SECONDS": 60.0,
    "SIYU_WECOM_HOUR_BLOCK_SECONDS": 3600.0,
    "SIYU_WECOM_CALL_LOG_FLUSH_ROWS": 200,
    "SIYU_WECOM_CALL_LOG_FLUSH_SECONDS": 1.0,
    "SIYU_WECOM_CALL_LOG_DAYS": 7,
}


def conf(name: str):
    return getattr(settings, name, DEFAULTS[name])
