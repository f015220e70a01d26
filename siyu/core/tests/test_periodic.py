"""Periodic hooks: registered by apps, run by the workers' housekeeping thread."""

import threading

import pytest

from siyu.core.jobs import register_periodic
from siyu.core.jobs.heartbeat import Housekeeper
from siyu.core.jobs.periodic import periodic_hooks, run_due_periodic, unregister_periodic


@pytest.fixture
def hook_name():
    name = "test.periodic"
    yield name
    unregister_periodic(name)


def test_a_hook_runs_at_once_then_once_per_period(hook_name):
    calls = []
    register_periodic(hook_name, lambda: calls.append(1), every_seconds=10)
    assert hook_name in run_due_periodic(now=1000.0)
    assert hook_name not in run_due_periodic(now=1009.9)
    assert hook_name in run_due_periodic(now=1010.0)
    assert len(calls) == 2


def test_registering_a_name_again_replaces_it(hook_name):
    register_periodic(hook_name, lambda: "old", every_seconds=5)
    register_periodic(hook_name, lambda: "new", every_seconds=7)
    [hook] = [h for h in periodic_hooks() if h.name == hook_name]
    assert hook.every_seconds == 7 and hook.fn() == "new"


def test_a_failing_hook_is_logged_and_runs_again_next_period(hook_name, caplog):
    calls = []

    def broken():
        calls.append(1)
        raise RuntimeError("boom")

    register_periodic(hook_name, broken, every_seconds=10)
    assert hook_name in run_due_periodic(now=2000.0)
    assert "Periodic job test.periodic failed" in caplog.text
    assert hook_name in run_due_periodic(now=2010.0)
    assert len(calls) == 2


def test_period_must_be_positive(hook_name):
    with pytest.raises(ValueError, match="positive"):
        register_periodic(hook_name, lambda: None, every_seconds=0)


@pytest.mark.django_db(transaction=True)
def test_the_housekeeper_runs_due_hooks(hook_name):
    ran = threading.Event()
    register_periodic(hook_name, ran.set, every_seconds=60)
    keeper = Housekeeper(worker_id="periodic-keeper", queues="default")
    keeper.start()
    try:
        assert ran.wait(10)
    finally:
        keeper.stop()
    assert not keeper.is_alive()
