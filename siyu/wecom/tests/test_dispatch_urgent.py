"""Urgent stages: an add's welcome goes out before the rest of its dispatch, which then uses
what the stage read from WeCom; nothing is sent twice and nothing is lost when a stage fails."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from siyu.accounts.tests.factories import CorpFactory, EmployeeFactory
from siyu.core.jobs import URGENT_PRIORITY
from siyu.customers.models import Customer
from siyu.engagement.models import WelcomeDelivery
from siyu.engagement.services import welcome_template_save
from siyu.engagement.tests.test_send_simulator import add_event
from siyu.wecom.dispatch import dispatch_event, dispatch_urgent
from siyu.wecom.ingress_services import _enqueue_dispatch
from siyu.wecom.models import WeComEvent
from siyu.wecom.simulator.testing import running_simulator

GET = "externalcontact/get"
pytestmark = pytest.mark.django_db


@pytest.fixture
def sim():
    with running_simulator(seed=11, employees=3, customers=0, groups=0) as running:
        yield running


@pytest.fixture
def corp(sim, settings):
    settings.SIYU_WECOM_RETRY_BASE_SECONDS = 0.01
    return CorpFactory(corp_id=sim.config.corp_id, contact_secret=sim.config.contact_secret,
                       api_base_url=sim.base_url)


@pytest.fixture
def added(corp, sim):
    code = sim.control.add_customer(state="live")
    employee = EmployeeFactory(corp=corp, userid=code.userid, name="李娜")
    welcome_template_save(corp=corp, actor=None, employee=employee,
                          text="{customer_name}您好，我是{employee_name}")
    return code, add_event(corp, code)


def gets(sim) -> int:
    return sim.control.calls()["per_api"].get(GET, {"total": 0})["total"]


def test_the_welcome_goes_first_and_the_dispatch_reuses_what_the_stage_read(corp, sim, added):
    code, event = added
    queued = []
    assert dispatch_urgent(event.pk, corp_id=corp.pk, enqueue_dispatch=queued.append)

    # Sent before the customer is stored, with the name WeCom reports.
    name = sim.simulator.state.customers[code.external_userid]["name"]
    [welcome] = sim.control.welcome_messages()
    assert (welcome["welcome_code"], welcome["text"]) == (code, f"{name}您好，我是李娜")
    assert not Customer.objects.for_corp(corp).exists()
    delivery = WelcomeDelivery.objects.for_corp(corp).get()
    assert delivery.status == "sent" and delivery.customer is None
    # Still stored (the dispatch is queued, not done); the sweeper leaves it alone meanwhile.
    event.refresh_from_db()
    assert event.status == WeComEvent.Status.STORED
    assert event.next_attempt_at > timezone.now() + timedelta(seconds=60)
    [carry] = queued
    assert carry["contact"]["external_userid"] == code.external_userid

    read_before = gets(sim)
    assert dispatch_event(event.pk, corp_id=corp.pk, carry=carry) == WeComEvent.Status.DISPATCHED
    assert gets(sim) == read_before  # WeCom was not asked again
    customer = Customer.objects.for_corp(corp).get(external_userid=code.external_userid)
    assert customer.name == name
    delivery.refresh_from_db()
    assert delivery.customer == customer  # linked once the customer exists
    assert len(sim.control.welcome_messages()) == 1  # and sent once


def test_a_failing_stage_still_queues_the_dispatch_which_does_it_all(corp, sim, added):
    code, event = added
    sim.control.inject_faults(api=GET, errcode=60011, count=1)  # refused once, for good
    queued = []
    assert dispatch_urgent(event.pk, corp_id=corp.pk, enqueue_dispatch=queued.append)
    assert queued == [None]
    assert not sim.control.welcome_messages()

    assert dispatch_event(event.pk, corp_id=corp.pk, carry=None) == WeComEvent.Status.DISPATCHED
    [welcome] = sim.control.welcome_messages()
    assert welcome["welcome_code"] == code
    assert WelcomeDelivery.objects.for_corp(corp).get().status == "sent"


def test_no_stage_for_an_event_dispatched_already(corp, sim, added):
    _code, event = added
    WeComEvent.objects.for_corp(corp).filter(pk=event.pk).update(
        status=WeComEvent.Status.DISPATCHED)
    read_before = gets(sim)
    queued = []
    assert not dispatch_urgent(event.pk, corp_id=corp.pk, enqueue_dispatch=queued.append)
    assert queued == [] and gets(sim) == read_before
    assert not WelcomeDelivery.objects.for_corp(corp).exists()


def test_ingress_queues_adds_urgently_and_other_events_for_dispatch(corp, added):
    _code, add = added
    other = WeComEvent.objects.create(
        corp=corp, dedupe_key="del:1", event="change_external_contact",
        change_type="del_external_contact", create_time=1, raw_xml="<xml/>", payload={})
    _enqueue_dispatch(add)
    _enqueue_dispatch(other)
    jobs = {job.args_kwargs["kwargs"]["event_id"]: job for job in DBTaskResult.objects.all()}
    assert jobs[add.pk].task_path == "siyu.wecom.tasks.dispatch_wecom_event_urgently"
    assert jobs[add.pk].priority == URGENT_PRIORITY
    assert jobs[other.pk].task_path == "siyu.wecom.tasks.dispatch_wecom_event"
    assert jobs[other.pk].priority == 0


def test_a_stage_whose_welcome_code_has_expired_asks_wecom_nothing(corp, sim):
    code = sim.control.add_customer(state="live")
    EmployeeFactory(corp=corp, userid=code.userid)
    event = add_event(corp, code, create_time=int(time.time()) - 25)  # a backlog's
    read_before = gets(sim)
    queued = []
    assert dispatch_urgent(event.pk, corp_id=corp.pk, enqueue_dispatch=queued.append)
    assert queued == [None] and gets(sim) == read_before
    assert not WelcomeDelivery.objects.for_corp(corp).exists()  # recorded by the dispatch
