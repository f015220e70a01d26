"""The welcome lane's rules against the WeCom simulator over real HTTP: sent once with the
placeholders filled, never twice for a duplicate, 41051 and late events recorded with their
reasons, a registered source's welcome winning over the default, a killed send never resent."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from siyu.accounts.tests.factories import EmployeeFactory
from siyu.customers.tests.factories import CustomerFactory
from siyu.engagement import welcome_sources
from siyu.engagement.lane import WelcomeLane
from siyu.engagement.models import WelcomeDelivery
from siyu.engagement.services import welcome_deliveries_close_stopped, welcome_template_save
from siyu.engagement.welcome import Welcome
from siyu.wecom.client import sync_client_for
from siyu.wecom.models import WeComEvent
from siyu.wecom.simulator.testing import running_simulator
from tests.fixtures import corp_on_simulator

SEND = "externalcontact/send_welcome_msg"
# transaction=True: the lane's sends run on a thread of their own, with their own connection.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sim():
    with running_simulator(seed=5, employees=3, customers=5, groups=0) as running:
        yield running


@pytest.fixture
def corp(sim, settings):
    return corp_on_simulator(sim, settings)


def add_event(corp, code, *, create_time=None, welcome_code=None, key=None):
    """The stored callback of the add the simulator just made (as ingress would store it)."""
    create_time = int(time.time()) if create_time is None else create_time
    payload = {"Event": "change_external_contact", "ChangeType": "add_external_contact",
               "CreateTime": create_time, "UserID": code.userid,
               "ExternalUserID": code.external_userid, "State": code.state,
               "WelcomeCode": str(code) if welcome_code is None else welcome_code}
    return WeComEvent.objects.create(
        corp=corp, dedupe_key=key or f"add:{code.external_userid}:{create_time}",
        event="change_external_contact", change_type="add_external_contact",
        create_time=create_time, raw_xml="<xml/>", payload=payload, welcome_due=True)


def welcome_send(corp, event) -> WelcomeDelivery:
    """One lane round over the stored add, its send recorded; the add's delivery."""
    WeComEvent.objects.for_corp(corp).filter(pk=event.pk).update(welcome_due=True)
    lane = WelcomeLane()
    try:
        lane.run_round()
        lane.drain()
    finally:
        lane.close()
    return WelcomeDelivery.objects.for_corp(corp).get(dedupe_key=event.dedupe_key)


def send_calls(sim) -> int:
    """send_welcome_msg calls the simulator received, not counting those refused for a stale
    token (the token cache outlives a test's database, so a test may start with one)."""
    counts = sim.control.calls()["per_api"].get(SEND, {"total": 0, "errcodes": {}})
    return counts["total"] - sum(counts["errcodes"].get(c, 0) for c in ("40001", "40014", "42001"))


@pytest.fixture
def added(corp, sim):
    code = sim.control.add_customer(state="poster")
    employee = EmployeeFactory(corp=corp, userid=code.userid, name="李娜")
    CustomerFactory(corp=corp, external_userid=code.external_userid, name="小王")
    welcome_template_save(corp=corp, actor=None, employee=employee,
                          text="{customer_name}您好，我是{employee_name}", attachments=[
                              {"msgtype": "link", "link": {"title": "新人礼",
                                                           "url": "https://e.com/gift"}}])
    return code, employee


def test_sent_once_with_placeholders_filled(corp, sim, added):
    code, employee = added
    event = add_event(corp, code)
    delivery = welcome_send(corp, event)
    assert (delivery.status, delivery.source, delivery.reason) == ("sent", "employee", "")
    assert delivery.employee == employee and delivery.customer.name == "小王"
    assert delivery.event_id == event.pk and delivery.latency_ms is not None
    assert 0 <= delivery.latency_ms < 20_000
    [received] = sim.control.welcome_messages()
    assert (received["welcome_code"], received["text"]) == (code, "小王您好，我是李娜")
    assert received["attachments"][0]["link"]["title"] == "新人礼"


def test_duplicate_dispatch_does_not_resend(corp, sim, added):
    code, _employee = added
    event = add_event(corp, code)
    first = welcome_send(corp, event)
    again = welcome_send(corp, event)  # a second lane takes the same add
    assert again.pk == first.pk and again.status == "sent"
    assert len(sim.control.welcome_messages()) == 1
    assert send_calls(sim) == 1
    assert WelcomeDelivery.objects.for_corp(corp).count() == 1


def test_a_registered_source_wins_over_the_default(corp, sim, added, monkeypatch):
    code, _employee = added
    monkeypatch.setattr(welcome_sources, "_sources", [lambda corp, adds: {
        a.event_key: Welcome("来自活码 {customer_name}", [], "live_code") for a in adds}])
    delivery = welcome_send(corp, add_event(corp, code))
    assert (delivery.status, delivery.source) == ("sent", "live_code")
    [received] = sim.control.welcome_messages()
    assert received["text"] == "来自活码 小王" and not received["attachments"]


def test_expired_code_is_recorded_as_failed(corp, sim, added):
    code, _employee = added
    event = add_event(corp, code)
    sim.control.advance_clock(21)  # the simulator's clock: the code is now past its 20 s
    delivery = welcome_send(corp, event)
    assert (delivery.status, delivery.errcode) == ("failed", 41051)
    assert delivery.reason == "41051 welcome code expired or used"
    assert sim.control.welcome_messages() == []


def test_used_code_is_recorded_as_failed(corp, sim, added):
    code, _employee = added
    sync_client_for(corp).send_welcome_msg(code, text="another app was first")
    delivery = welcome_send(corp, add_event(corp, code))
    assert (delivery.status, delivery.reason) == ("failed", "41051 welcome code expired or used")


def test_late_event_is_refused_without_calling(corp, sim, added):
    code, _employee = added
    delivery = welcome_send(corp, add_event(corp, code, create_time=int(time.time()) - 25))
    assert delivery.status == "failed" and delivery.reason.startswith("late: ")
    assert "20 s window" in delivery.reason
    assert send_calls(sim) == 0 and sim.control.welcome_messages() == []


def test_no_welcome_code_or_no_template_is_skipped(corp, sim, added):
    code, _employee = added
    delivery = welcome_send(corp, add_event(corp, code, welcome_code=""))
    assert (delivery.status, delivery.reason) == ("skipped", "no WelcomeCode in the event")
    userids = [e["userid"] for e in sim.control.population()["users"]]
    other_userid = next(u for u in userids if u != code.userid)
    EmployeeFactory(corp=corp, userid=other_userid)
    stranger = sim.control.add_customer(other_userid, state="")
    delivery = welcome_send(corp, add_event(corp, stranger))
    assert (delivery.status, delivery.reason) == ("skipped", "no template")
    assert send_calls(sim) == 0


def test_worker_stopped_mid_send_is_unknown_and_never_resent(corp, sim, added):
    """A worker claimed the event and died before recording the answer: the row stays
    "sending". Re-dispatching the event (the sweeper's job) must not send again, since the
    first call may have reached the customer; the row reads "unknown" once it is stale and
    keeps reading so after the periodic hook closes it."""
    code, employee = added
    event = add_event(corp, code)
    WelcomeDelivery.objects.create(corp=corp, dedupe_key=event.dedupe_key, event_id=event.pk,
                                   employee=employee, status="sending")
    again = welcome_send(corp, event)
    assert again.status == "sending" and again.display_status == "sending"
    WelcomeDelivery.objects.for_corp(corp).update(
        created_at=timezone.now() - timedelta(seconds=90))
    assert welcome_send(corp, event).display_status == "unknown"
    assert welcome_deliveries_close_stopped() == 1
    closed = welcome_send(corp, event)
    assert (closed.status, closed.display_status) == ("failed", "unknown")
    assert send_calls(sim) == 0 and sim.control.welcome_messages() == []
