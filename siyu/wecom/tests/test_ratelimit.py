"""The rate limiter: leases from shared windows, never over the limit, 45009 blocks."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from siyu.accounts.tests.factories import CorpFactory
from siyu.wecom.models import RateWindow
from siyu.wecom.ratelimit import Limit, RateLimiter, limit_for

API = "externalcontact/get"


@pytest.fixture
def corp(db):
    return CorpFactory()


@pytest.fixture
def clock():
    start = timezone.now().replace(minute=7, second=0, microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        yield traveller


@pytest.fixture
def small_limits(settings):
    settings.SIYU_WECOM_RATE_LIMITS = {API: (50, 120)}
    settings.SIYU_WECOM_RATE_HEADROOM = 1.0
    settings.SIYU_WECOM_RATE_LEASE = 8


def take(limiter: RateLimiter, corp, api=API) -> float:
    wait = limiter.try_take(corp.pk, api)
    return limiter.lease(corp.pk, api) if wait is None else wait


def spend(limiters, corp, api=API) -> int:
    """Calls granted, taking turns between the limiters until none gets any more."""
    granted = 0
    active = list(limiters)
    while active:
        for limiter in list(active):
            if take(limiter, corp, api) == 0:
                granted += 1
            else:
                active.remove(limiter)
    return granted


def test_default_limits_keep_headroom_under_wecoms():
    assert limit_for("externalcontact/get") == Limit(9_000, 135_000)
    assert limit_for("externalcontact/add_moment_task") == Limit(9, 135_000)
    assert limit_for("get_jsapi_ticket") == Limit(9_000, 360)


def test_limits_can_be_overridden(settings):
    settings.SIYU_WECOM_RATE_LIMITS = {"*": (100, None), "externalcontact/list": (5, 10)}
    settings.SIYU_WECOM_RATE_HEADROOM = 1.0
    assert limit_for("externalcontact/get") == Limit(100, None)
    assert limit_for("externalcontact/list") == Limit(5, 10)
    assert limit_for("externalcontact/add_moment_task") == Limit(10, 150_000)


def test_two_processes_together_never_exceed_the_minute_limit(corp, clock, small_limits):
    first, second = RateLimiter(), RateLimiter()
    assert spend([first, second], corp) == 50
    minute = RateWindow.objects.for_corp(corp).get(api=API, window="minute")
    assert minute.used == 50
    # Exhausted: both wait for the next minute instead of calling.
    wait = take(first, corp)
    assert 59.9 < wait <= 60.1
    assert 59.9 < take(second, corp) <= 60.1
    clock.shift(wait)
    assert take(second, corp) == 0


def test_the_hour_limit_holds_across_minutes(corp, clock, small_limits):
    limiters = [RateLimiter(), RateLimiter(), RateLimiter()]
    granted = spend(limiters, corp)  # minute 1: 50
    clock.shift(60)
    granted += spend(limiters, corp)  # minute 2: 50
    clock.shift(60)
    granted += spend(limiters, corp)  # minute 3: the hour's last 20
    assert granted == 120
    wait = take(limiters[0], corp)
    assert wait > 50 * 60  # until the next hour (started at :07, three minutes used)


def test_leases_grow_with_use_so_the_database_is_not_written_per_call(corp, clock, settings):
    settings.SIYU_WECOM_RATE_LEASE = 100
    limiter = RateLimiter()
    for _ in range(1000):
        assert take(limiter, corp) == 0
    minute = RateWindow.objects.for_corp(corp).get(api=API, window="minute")
    # Leases of 1, 2, 4, … 64 and then 100 at a time: 15 round trips for 1,000 calls.
    assert 1000 <= minute.used < 1100
    hour = RateWindow.objects.for_corp(corp).get(api=API, window="hour")
    assert hour.used == minute.used


def test_a_quiet_process_leases_one_call_at_a_time(corp, clock, small_limits):
    limiter = RateLimiter()
    for _ in range(5):
        assert take(limiter, corp) == 0
        clock.shift(60)
    # One call a minute leases one call a minute: nothing of the hour limit is wasted.
    assert sum(RateWindow.objects.for_corp(corp).filter(window="minute")
               .values_list("used", flat=True)) == 5


def test_moment_tasks_are_limited_to_ten_a_minute(corp, clock, settings):
    settings.SIYU_WECOM_RATE_HEADROOM = 1.0
    assert spend([RateLimiter(), RateLimiter()], corp, "externalcontact/add_moment_task") == 10


def test_limits_are_per_corp_and_api(corp, clock, small_limits):
    other = CorpFactory()
    limiter = RateLimiter()
    assert spend([limiter], corp) == 50
    assert spend([limiter], other) == 50
    assert take(limiter, corp, "externalcontact/list") == 0


def test_a_block_stops_every_process_until_it_ends(corp, clock):
    first, second = RateLimiter(), RateLimiter()
    assert take(second, corp) == 0
    until = first.block(corp.pk, API, "api freq out of limit")
    assert until == timezone.now() + timedelta(seconds=60)
    assert 59 < take(first, corp) <= 60.1
    assert first.blocked_until(corp.pk, API) == until
    # The other process has leased calls left, but the next lease sees the block.
    second._state[(corp.pk, API)].remaining = 0
    assert 59 < take(second, corp) <= 60.1
    assert take(second, corp, "externalcontact/list") == 0  # only this API is blocked
    clock.shift(61)
    assert take(first, corp) == 0 and take(second, corp) == 0


def test_hour_limit_blocks_for_an_hour(corp, clock):
    limiter = RateLimiter()
    until = limiter.block(corp.pk, API, "150000 calls per hour reached")
    assert until - timezone.now() == timedelta(hours=1)
    block = RateWindow.objects.for_corp(corp).get(blocked_until__isnull=False)
    assert block.window == "hour"


def test_block_lengths_are_settings(corp, clock, settings):
    # End-to-end tests against the simulator use its short block window instead of WeCom's.
    settings.SIYU_WECOM_MINUTE_BLOCK_SECONDS = 1.5
    settings.SIYU_WECOM_HOUR_BLOCK_SECONDS = 4
    limiter = RateLimiter()
    until = limiter.block(corp.pk, API, "freq")
    assert until - timezone.now() == timedelta(seconds=1.5)
    assert 1.4 < take(limiter, corp) <= 1.6
    clock.shift(2)
    assert take(limiter, corp) == 0
    # Blocked again right after the last block ended: the hour limit, with its own length.
    assert limiter.block(corp.pk, API, "freq") - timezone.now() == timedelta(seconds=4)


def test_a_45009_from_a_call_in_flight_does_not_extend_the_block(corp, clock):
    limiter = RateLimiter()
    until = limiter.block(corp.pk, API, "freq")
    clock.shift(5)
    assert limiter.block(corp.pk, API, "freq") == until


def test_old_windows_are_pruned_once_an_hour(corp, clock, small_limits):
    limiter = RateLimiter()
    for _ in range(3):
        take(limiter, corp)
        clock.shift(3600)
    take(limiter, corp)
    starts = set(RateWindow.objects.for_corp(corp).filter(window="hour")
                 .values_list("window_start", flat=True))
    assert len(starts) == 2  # this hour and the one before


@pytest.mark.django_db(transaction=True)
def test_concurrent_processes_never_exceed_the_limit(settings):
    settings.SIYU_WECOM_RATE_LIMITS = {API: (300, None)}
    settings.SIYU_WECOM_RATE_HEADROOM = 1.0
    settings.SIYU_WECOM_RATE_LEASE = 16
    corp = CorpFactory()
    granted, errors = [], []
    start = threading.Barrier(6)

    def process():
        limiter, mine = RateLimiter(), 0
        try:
            start.wait()
            while take(limiter, corp) == 0:
                mine += 1
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            granted.append(mine)
            connection.close()

    # Frozen in the middle of a minute so the window cannot roll over during the test.
    with time_machine.travel(timezone.now().replace(second=20), tick=False):
        threads = [threading.Thread(target=process) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    assert sum(granted) == 300
    assert RateWindow.objects.for_corp(corp).get(window="minute").used == 300


@pytest.mark.django_db(transaction=True)
def test_threads_out_of_calls_together_share_one_lease(settings, monkeypatch):
    """A process's threads that run out at once wait for one lease instead of each leasing
    (and racing each other's compare-and-set) from the database."""
    from siyu.wecom import ratelimit

    settings.SIYU_WECOM_RATE_LIMITS = {API: (50, 120)}
    settings.SIYU_WECOM_RATE_LEASE = 8
    corp = CorpFactory()
    leases, results, errors = [], [], []
    entered, release = threading.Event(), threading.Event()
    real = ratelimit._lease_from_db

    def slow_lease(*args):
        leases.append(args[3])  # the size asked for
        entered.set()
        release.wait(5)
        return real(*args)

    def call():
        try:
            results.append(limiter.lease(corp.pk, API))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    monkeypatch.setattr(ratelimit, "_lease_from_db", slow_lease)
    limiter = RateLimiter()
    with time_machine.travel(timezone.now().replace(second=20), tick=False):
        threads = [threading.Thread(target=call) for _ in range(4)]
        threads[0].start()
        assert entered.wait(5)
        for thread in threads[1:]:
            thread.start()
        time_machine_free_wait(0.3)  # the others reach the limiter and wait for the lease
        release.set()
        for thread in threads:
            thread.join(10)
    assert errors == [] and results == [0, 0, 0, 0]
    # The first lease (1 call) served its caller; the three waiters then leased once (2
    # calls, doubling) and shared it with one more lease at most, instead of one each.
    assert leases[0] == 1 and len(leases) <= 3


def time_machine_free_wait(seconds: float) -> None:
    import time

    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        time.sleep(0.01)
