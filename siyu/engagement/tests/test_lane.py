"""The welcome lane against the simulator: adds get their welcomes with the customers' names,
each exactly once whoever else tries; a slow send holds up no other; late, refused, half adds
and live code welcomes; the add's dispatch links the delivery to its customer."""

import time

import pytest

from siyu.accounts.tests.factories import EmployeeFactory, UserFactory
from siyu.acquisition.live_codes.services import live_code_create
from siyu.customers.models import Customer
from siyu.engagement.lane import WelcomeLane
from siyu.engagement.models import WelcomeDelivery
from siyu.engagement.services import welcome_template_save
from siyu.engagement.welcome_batch import welcome_claim_batch
from siyu.wecom.callback_events import typed_event
from siyu.wecom.client import sync_client_for
from siyu.wecom.dispatch import dispatch_event
from siyu.wecom.models import WeComEvent
from siyu.wecom.simulator.testing import running_simulator
from siyu.wecom.welcome_feed import welcome_due
from tests.fixtures import corp_on_simulator
from tests.jobs import run_ready_jobs

GET = "externalcontact/get"
# transaction=True: the async client keeps its token and rate windows from another thread.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sim():
    with running_simulator(seed=21, employees=3, customers=0, groups=0) as running:
        yield running


@pytest.fixture
def corp(sim, settings):
    return corp_on_simulator(sim, settings)


@pytest.fixture
def employee(corp, sim):
    userid = sim.control.population()["users"][0]["userid"]
    employee = EmployeeFactory(corp=corp, userid=userid, name="李娜")
    welcome_template_save(corp=corp, actor=None, employee=employee,
                          text="{customer_name}您好，我是{employee_name}")
    return employee


@pytest.fixture
def lane():
    lane = WelcomeLane()
    yield lane
    lane.close()


def stored(corp, code, *, create_time=None, change="add_external_contact"):
    """The add the simulator just made, stored as ingress stores it."""
    create_time = int(time.time()) if create_time is None else create_time
    payload = {"Event": "change_external_contact", "ChangeType": change,
               "CreateTime": create_time, "UserID": code.userid,
               "ExternalUserID": code.external_userid, "State": code.state,
               "WelcomeCode": str(code)}
    return WeComEvent.objects.create(
        corp=corp, dedupe_key=f"{change}:{code.external_userid}:{create_time}",
        event=payload["Event"], change_type=payload["ChangeType"], create_time=create_time,
        raw_xml="<xml/>", payload=payload, welcome_due=welcome_due(payload))


def welcomes_to(sim, codes) -> list[dict]:
    wanted = {c.external_userid for c in codes}
    return [m for m in sim.control.welcome_messages() if m["external_userid"] in wanted]


def gets(sim) -> int:
    return sim.control.calls()["per_api"].get(GET, {"total": 0})["total"]


def sent_now(lane, expected: int) -> None:
    """One round takes ``expected`` adds; then every send it started is recorded."""
    assert lane.run_round() == expected
    lane.drain()


def test_adds_get_their_welcomes_and_the_dispatch_links_the_customers(corp, sim, employee, lane):
    codes = [sim.control.add_customer(userid=employee.userid) for _ in range(5)]
    events = [stored(corp, code) for code in codes]

    sent_now(lane, 5)
    received = welcomes_to(sim, codes)
    names = {c.external_userid: sim.simulator.state.customers[c.external_userid]["name"]
             for c in codes}
    assert sorted(m["text"] for m in received) == sorted(
        f"{names[c.external_userid]}您好，我是李娜" for c in codes)
    deliveries = WelcomeDelivery.objects.for_corp(corp)
    assert sorted(deliveries.values_list("status", flat=True)) == ["sent"] * 5
    assert all(d.latency_ms is not None and d.source == "employee" for d in deliveries)
    for event in events:
        event.refresh_from_db()
        assert not event.welcome_due
    assert lane.run_round() == 0  # nothing due any more

    for event in events:
        assert dispatch_event(event.pk, corp_id=corp.pk) == "dispatched"
    run_ready_jobs()
    assert len(welcomes_to(sim, codes)) == 5  # the dispatch sends nothing
    assert Customer.objects.for_corp(corp).filter(
        external_userid__in=[c.external_userid for c in codes]).count() == 5
    # The lane's rows are linked to the customers once the dispatch stored them.
    assert not deliveries.filter(customer__isnull=True).exists()


def test_a_slow_send_holds_up_no_round(corp, sim, employee, lane):
    sim.control.set_latency(400)
    try:
        codes = [sim.control.add_customer(userid=employee.userid) for _ in range(3)]
        for code in codes:
            stored(corp, code)
        started = time.monotonic()
        assert lane.run_round() == 3
        assert time.monotonic() - started < 0.35, "the round waited for its sends"
        assert lane.in_flight == 3
        lane.drain()
    finally:
        sim.control.set_latency(0)
    assert lane.in_flight == 0
    assert len(welcomes_to(sim, codes)) == 3


def test_a_welcome_someone_else_claimed_is_never_sent_again(corp, sim, employee, lane):
    first, second = (sim.control.add_customer(userid=employee.userid) for _ in range(2))
    stored(corp, first)
    sent_now(lane, 1)
    other = stored(corp, second)
    # Another process's lane claimed this one a moment ago.
    assert len(welcome_claim_batch(corp, [typed_event(other)], overrides={})) == 1

    sent_now(lane, 1)
    assert len(welcomes_to(sim, [first])) == 1
    assert welcomes_to(sim, [second]) == []  # the other lane sends it, not this one
    assert WelcomeDelivery.objects.for_corp(corp).count() == 2


def test_a_half_add_gets_its_welcome_too(corp, sim, employee, lane):
    code = sim.control.add_customer(userid=employee.userid)
    event = stored(corp, code, change="add_half_external_contact")
    assert event.welcome_due
    sent_now(lane, 1)
    assert len(welcomes_to(sim, [code])) == 1


def test_adds_past_the_20_s_window_are_recorded_as_late(corp, sim, employee, lane):
    code = sim.control.add_customer(userid=employee.userid)
    event = stored(corp, code, create_time=int(time.time()) - 25)
    assert lane.run_round() == 0
    event.refresh_from_db()
    assert not event.welcome_due
    assert welcomes_to(sim, [code]) == []
    delivery = WelcomeDelivery.objects.for_corp(corp).get(dedupe_key=event.dedupe_key)
    assert delivery.status == "failed" and delivery.reason.startswith("late: ")


def test_a_refused_welcome_code_is_recorded(corp, sim, employee, lane):
    code = sim.control.add_customer(userid=employee.userid)
    sync_client_for(corp).send_welcome_msg(str(code), text="another app was first")
    event = stored(corp, code)
    sent_now(lane, 1)
    delivery = WelcomeDelivery.objects.for_corp(corp).get(dedupe_key=event.dedupe_key)
    assert (delivery.status, delivery.errcode) == ("failed", 41051)
    assert "41051" in delivery.reason


def test_a_live_code_welcome_overrides_the_default(corp, sim, employee, lane):
    admin = UserFactory(corp=corp, role="admin")
    live_code = live_code_create(corp=corp, actor=admin, name="直播", mode="random",
                                 members=[{"employee_id": employee.pk}],
                                 welcome_text="直播间专属：{customer_name}")
    code = sim.control.scan_contact_way(state=live_code.state)
    event = stored(corp, code)
    sent_now(lane, 1)
    name = sim.simulator.state.customers[code.external_userid]["name"]
    assert [m["text"] for m in welcomes_to(sim, [code])] == [f"直播间专属：{name}"]
    delivery = WelcomeDelivery.objects.for_corp(corp).get(dedupe_key=event.dedupe_key)
    assert delivery.source == "live_code"


def test_no_template_is_settled_without_calling_wecom(corp, sim, lane):
    userid = sim.control.population()["users"][1]["userid"]
    EmployeeFactory(corp=corp, userid=userid)
    code = sim.control.add_customer(userid=userid)
    event = stored(corp, code)
    before = gets(sim)
    sent_now(lane, 1)
    delivery = WelcomeDelivery.objects.for_corp(corp).get(dedupe_key=event.dedupe_key)
    assert (delivery.status, delivery.reason) == ("skipped", "no template")
    assert gets(sim) == before
