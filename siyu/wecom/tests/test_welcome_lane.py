"""The welcome lane against the simulator: a batch of adds gets its welcomes in one round, with
the customers' names, each exactly once whoever else tries; what it read is kept for the
dispatch, which then asks WeCom nothing; late, refused and live code welcomes."""

import time

import pytest

from siyu.accounts.tests.factories import EmployeeFactory, UserFactory
from siyu.acquisition.live_codes.services import live_code_create
from siyu.customers.models import Customer
from siyu.engagement.models import WelcomeDelivery
from siyu.engagement.services import welcome_send, welcome_template_save
from siyu.engagement.welcome_batch import welcome_claim_batch
from siyu.wecom.client import sync_client_for
from siyu.wecom.dispatch import dispatch_event
from siyu.wecom.events import welcome_due
from siyu.wecom.models import WeComEvent
from siyu.wecom.simulator.testing import running_simulator
from siyu.wecom.welcome import add_event_of
from siyu.wecom.welcome_lane import WelcomeLane
from tests.fixtures import corp_on_simulator

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


def stored(corp, code, *, create_time=None):
    """The add the simulator just made, stored as ingress stores it."""
    create_time = int(time.time()) if create_time is None else create_time
    payload = {"Event": "change_external_contact", "ChangeType": "add_external_contact",
               "CreateTime": create_time, "UserID": code.userid,
               "ExternalUserID": code.external_userid, "State": code.state,
               "WelcomeCode": str(code)}
    return WeComEvent.objects.create(
        corp=corp, dedupe_key=f"add:{code.external_userid}:{create_time}",
        event=payload["Event"], change_type=payload["ChangeType"], create_time=create_time,
        raw_xml="<xml/>", payload=payload, welcome_due=welcome_due(payload))


def welcomes_to(sim, codes) -> list[dict]:
    wanted = {c.external_userid for c in codes}
    return [m for m in sim.control.welcome_messages() if m["external_userid"] in wanted]


def gets(sim) -> int:
    return sim.control.calls()["per_api"].get(GET, {"total": 0})["total"]


def test_one_round_welcomes_a_batch_and_the_dispatch_reuses_what_it_read(
        corp, sim, employee, lane):
    codes = [sim.control.add_customer(userid=employee.userid) for _ in range(5)]
    events = [stored(corp, code) for code in codes]

    assert lane.run_round() == 5
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
        assert event.carry["contact"]["external_userid"] == event.payload["ExternalUserID"]
    assert lane.run_round() == 0  # nothing due any more

    before = gets(sim)
    for event in events:
        assert dispatch_event(event.pk, corp_id=corp.pk) == "dispatched"
    assert gets(sim) == before, "the dispatch read the customer again"
    assert len(welcomes_to(sim, codes)) == 5
    assert Customer.objects.for_corp(corp).filter(
        external_userid__in=[c.external_userid for c in codes]).count() == 5
    # The lane's rows are linked to the customers once the dispatch stored them.
    assert not deliveries.filter(customer__isnull=True).exists()


def test_a_welcome_someone_else_claimed_is_never_sent_again(corp, sim, employee, lane):
    first, second = (sim.control.add_customer(userid=employee.userid) for _ in range(2))
    sent_by_dispatch = stored(corp, first)
    welcome_send(corp, sent_by_dispatch.pk)
    other = stored(corp, second)
    # Another process's lane claimed this one a moment ago.
    assert len(welcome_claim_batch(corp, [add_event_of(other)], overrides={})) == 1

    assert lane.run_round() == 2
    assert len(welcomes_to(sim, [first])) == 1
    assert welcomes_to(sim, [second]) == []  # the other lane sends it, not this one
    assert WelcomeDelivery.objects.for_corp(corp).count() == 2


def test_adds_past_the_20_s_window_are_left_to_their_dispatch(corp, sim, employee, lane):
    code = sim.control.add_customer(userid=employee.userid)
    event = stored(corp, code, create_time=int(time.time()) - 25)
    assert lane.run_round() == 0
    event.refresh_from_db()
    assert not event.welcome_due
    assert welcomes_to(sim, [code]) == []
    dispatch_event(event.pk, corp_id=corp.pk)
    delivery = WelcomeDelivery.objects.for_corp(corp).get(dedupe_key=event.dedupe_key)
    assert delivery.status == "failed" and delivery.reason.startswith("late: ")


def test_a_refused_welcome_code_is_recorded(corp, sim, employee, lane):
    code = sim.control.add_customer(userid=employee.userid)
    sync_client_for(corp).send_welcome_msg(str(code), text="another app was first")
    event = stored(corp, code)
    assert lane.run_round() == 1
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
    assert lane.run_round() == 1
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
    assert lane.run_round() == 1
    delivery = WelcomeDelivery.objects.for_corp(corp).get(dedupe_key=event.dedupe_key)
    assert (delivery.status, delivery.reason) == ("skipped", "no template")
    assert gets(sim) == before
