"""The simulator's burst facility: scans at a fixed rate, delivered by concurrent senders."""

import time

import httpx
import pytest

from siyu.wecom.simulator.testing import SimulatorError, running_simulator
from siyu.wecom.tests.test_simulator import Api, Receiver


@pytest.fixture
def slow_receiver():
    """Answers each callback after 100 ms: one sender alone could deliver 10 a second."""
    receiver = Receiver()
    handler = receiver.server.RequestHandlerClass
    original = handler.do_POST

    def slow_post(self):
        time.sleep(0.1)
        original(self)

    handler.do_POST = slow_post
    yield receiver
    receiver.close()


def _wait_finished(sim, burst_id, timeout=10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        burst = next(b for b in sim.control.bursts() if b["id"] == burst_id)
        delivered = burst["callbacks"].get("delivered", 0)
        if not burst["running"] and delivered == burst["emitted"]:
            return burst
        assert time.monotonic() < deadline, burst
        time.sleep(0.05)


def test_burst_emits_scans_on_schedule_through_concurrent_senders(slow_receiver):
    with running_simulator(callback_url=slow_receiver.url, seed=3) as sim:
        api = Api(sim)
        way = api.post("externalcontact/add_contact_way",
                       {"type": 2, "scene": 2, "user": ["emp001", "emp002"], "state": "live_x"})
        started = time.monotonic()
        burst = sim.control.burst(state="live_x", rate=100, count=60, senders=16)
        assert burst["count"] == 60 and burst["config_id"] == way["config_id"]
        done = _wait_finished(sim, burst["id"])
        elapsed = time.monotonic() - started

    assert done["emitted"] == 60 and done["refused"] == 0
    # 60 scans at 100/s take 0.59 s; one sender at 100 ms per answer would need 6 s.
    assert 0.55 < done["finished_at"] - done["started_at"] < 1.5
    assert elapsed < 3.0
    events = slow_receiver.events(sim.config)
    assert len(events) == 60
    assert {e.findtext("ChangeType") for e in events} == {"add_external_contact"}
    assert {e.findtext("State") for e in events} == {"live_x"}
    assert {e.findtext("UserID") for e in events} <= {"emp001", "emp002"}
    assert len({e.findtext("WelcomeCode") for e in events}) == 60
    codes = sim.simulator.state.welcome_codes.values()
    issued = sorted(c["issued_at"] for c in codes if c["state"] == "live_x")
    # Exact schedule: 10 ms apart on average, none bunched up at the end.
    assert issued[-1] - issued[0] == pytest.approx(0.59, abs=0.25)


def test_burst_refuses_unknown_way_and_bad_numbers():
    with running_simulator(seed=3) as sim:
        with pytest.raises(SimulatorError, match="No contact way"):
            sim.control.burst(state="nope", rate=10, count=5)
        Api(sim).post("externalcontact/add_contact_way",
                      {"type": 1, "scene": 2, "user": ["emp001"], "state": "s"})
        with pytest.raises(SimulatorError, match="positive rate"):
            sim.control.burst(state="s", rate=0, count=5)
        with pytest.raises(SimulatorError, match="positive rate"):
            sim.control.burst(state="s", rate=10, count=0)
        assert httpx.get(f"{sim.root_url}/sim/bursts").json() == {"bursts": []}
