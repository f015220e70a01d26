"""End to end over real HTTP: a customer adds an employee in the simulator, which sends the
encrypted add_external_contact callback to Siyu's callback endpoint (the live server); the
welcome lane (what every worker runs) sends the employee's default welcome back to the
simulator with the WelcomeCode, once; the dispatch upserts the customer and links the delivery
to it, however often the event is dispatched."""

import pytest

from siyu.accounts.tests.factories import CorpFactory, EmployeeFactory
from siyu.customers.models import Customer
from siyu.engagement.lane import WelcomeLane
from siyu.engagement.models import WelcomeDelivery
from siyu.engagement.services import welcome_template_save
from siyu.wecom.dispatch import dispatch_event
from siyu.wecom.models import WeComEvent
from siyu.wecom.simulator.testing import running_simulator

pytestmark = pytest.mark.django_db(transaction=True)

CORP_ID = "wwwelcomee2e000001"


@pytest.fixture
def sim(live_server):
    with running_simulator(corp_id=CORP_ID, seed=9, employees=3, customers=0, groups=0,
                           callback_url=f"{live_server.url}/wecom/callback/{CORP_ID}/") as running:
        yield running


@pytest.fixture
def corp(sim, settings):
    settings.SIYU_WECOM_RETRY_BASE_SECONDS = 0.01
    config = sim.config
    return CorpFactory(corp_id=config.corp_id, contact_secret=config.contact_secret,
                       callback_token=config.callback_token, encoding_aes_key=config.aes_key,
                       api_base_url=sim.base_url)


def test_add_callback_sends_the_default_welcome_once(corp, sim):
    employee = EmployeeFactory(corp=corp, userid="emp001", name="李娜")
    welcome_template_save(corp=corp, actor=None, employee=employee,
                          text="{customer_name}您好，我是{employee_name}")
    code = sim.control.add_customer("emp001", state="poster")
    assert code and sim.control.wait_callbacks(30)
    event = WeComEvent.objects.for_corp(corp).get(change_type="add_external_contact")

    lane = WelcomeLane()
    try:
        assert lane.run_round() == 1
        lane.drain()
    finally:
        lane.close()
    assert dispatch_event(event.pk) == "dispatched"
    customer = Customer.objects.for_corp(corp).get(external_userid=code.external_userid)
    [received] = sim.control.welcome_messages()
    assert (received["welcome_code"], received["text"]) == (code, f"{customer.name}您好，我是李娜")
    delivery = WelcomeDelivery.objects.for_corp(corp).get()
    assert (delivery.status, delivery.source, delivery.event_id) == ("sent", "employee", event.pk)
    assert delivery.customer == customer and delivery.latency_ms < 20_000

    WeComEvent.objects.for_corp(corp).filter(pk=event.pk).update(status="stored")
    dispatch_event(event.pk)  # re-driven, as the sweeper would after a lost acknowledgement
    assert len(sim.control.welcome_messages()) == 1
    assert WelcomeDelivery.objects.for_corp(corp).count() == 1
