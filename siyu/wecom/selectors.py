"""Reads of the WeCom API call log for the console (admins with ``wecom.manage``)."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from siyu.accounts.scoping import restrict
from siyu.wecom.models import ApiCall

PERMISSION = "wecom.manage"
# The errcode filter: these words, or an errcode number.
ERRCODE_CHOICES = ("ok", "errors", "network")
FAILED = Q(errcode__isnull=True) | ~Q(errcode=0)


@dataclass(frozen=True)
class CallFilters:
    api: str = ""
    errcode: str = ""  # "", "ok", "errors", "network" or an integer as text

    @property
    def active(self) -> bool:
        return bool(self.api or self.errcode)


@dataclass(frozen=True)
class ApiStat:
    api: str
    calls: int
    errors: int
    p50_ms: int
    p99_ms: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


def api_calls_for(actor, filters: CallFilters = CallFilters()) -> QuerySet:
    """The actor's corp's calls, newest first, narrowed by ``filters``."""
    calls = restrict(ApiCall.objects.all(), actor, PERMISSION)
    if filters.api:
        calls = calls.filter(api=filters.api)
    if filters.errcode == "ok":
        calls = calls.filter(errcode=0)
    elif filters.errcode == "errors":
        calls = calls.filter(FAILED)
    elif filters.errcode == "network":
        calls = calls.filter(errcode__isnull=True)
    elif filters.errcode:
        calls = calls.filter(errcode=int(filters.errcode))
    return calls.order_by("-created_at", "-id")


def api_names_for(actor, *, days: int = 7) -> list[str]:
    """APIs called in the last ``days`` days, for the filter."""
    since = timezone.now() - timedelta(days=days)
    return list(restrict(ApiCall.objects.all(), actor, PERMISSION)
                .filter(created_at__gte=since).order_by("api")
                .values_list("api", flat=True).distinct())


def api_call_stats_for(actor, *, since: datetime) -> list[ApiStat]:
    """Per API since ``since``: calls, failed calls and exact latency p50/p99, busiest first.

    The database groups by (API, latency in ms) and the percentiles are read off that
    frequency table: exact, portable (SQLite has no percentile function), and the rows
    fetched are bounded by the distinct latencies, not by the number of calls.
    """
    calls = restrict(ApiCall.objects.all(), actor, PERMISSION).filter(created_at__gte=since)
    totals = {row["api"]: row for row in calls.order_by().values("api").annotate(
        calls=Count("id"), errors=Count("id", filter=FAILED))}
    histograms: dict[str, list[tuple[int, int]]] = {}
    for row in (calls.order_by().values("api", "latency_ms").annotate(n=Count("id"))
                .order_by("api", "latency_ms")):
        histograms.setdefault(row["api"], []).append((row["latency_ms"], row["n"]))
    stats = [ApiStat(api=api, calls=t["calls"], errors=t["errors"],
                     p50_ms=percentile(histograms[api], 0.50),
                     p99_ms=percentile(histograms[api], 0.99))
             for api, t in totals.items()]
    return sorted(stats, key=lambda s: (-s.calls, s.api))


def percentile(histogram: list[tuple[int, int]], fraction: float) -> int:
    """Nearest-rank percentile of a sorted [(value, count)] table."""
    total = sum(count for _value, count in histogram)
    if not total:
        return 0
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for value, count in histogram:
        seen += count
        if seen >= rank:
            return value
    return histogram[-1][0]
