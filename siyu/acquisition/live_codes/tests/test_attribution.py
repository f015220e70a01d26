"""A customer scans a channel live code in the WeCom simulator and the add callback is
dispatched: the add is attributed to the code once, the code's tags land locally and in WeCom,
the code's welcome is sent, the timeline names the code; duplicates, a second employee, an
expired code and out-of-order deletes behave."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from siyu.accounts.tests.factories import EmployeeFactory, UserFactory
from siyu.acquisition.live_codes.services import live_code_create
from siyu.acquisition.models import LiveCode, LiveCodeAdd, LiveCodeDailyCount, LiveCodeRotation
from siyu.acquisition.tasks import live_code_add_followup, refresh_live_code
from siyu.customers.models import Customer, CustomerTag, FollowRelation, TimelineEvent
from siyu.customers.tests.factories import TagFactory
from siyu.engagement.lane import WelcomeLane
from siyu.engagement.models import WelcomeDelivery
from siyu.engagement.services import welcome_template_save
from siyu.wecom.client import sync_client_for
from siyu.wecom.dispatch import dispatch_event
from siyu.wecom.models import WeComEvent
from siyu.wecom.simulator.testing import running_simulator
from tests.fixtures import corp_on_simulator

# transaction=True: the welcome lane sends from a thread of its own, with its own connection.
pytestmark = [pytest.mark.usefixtures("in_english"), pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def sim():
    with running_simulator(seed=11, employees=4, customers=0, groups=0) as running:
        yield running


@pytest.fixture
def corp(sim, settings):
    return corp_on_simulator(sim, settings)


@pytest.fixture
def people(corp, sim):
    userids = [u["userid"] for u in sim.control.population()["users"]][:3]
    return [EmployeeFactory(corp=corp, userid=u, name=f"员工{i}") for i, u in enumerate(userids)]


@pytest.fixture
def tag(corp):
    groups = sync_client_for(corp).get_corp_tag_list()["tag_group"]
    return TagFactory(corp=corp, name="直播间", wecom_tag_id=groups[0]["tag"][0]["id"])


@pytest.fixture
def code(corp, people, tag):
    admin = UserFactory(corp=corp, role="admin")
    return live_code_create(corp=corp, actor=admin, name="双11直播", mode="random",
                            members=[{"employee_id": people[0].pk}], tag_ids=[tag.pk],
                            welcome_text="{customer_name}您好，我是{employee_name}，双11见")


def stored_add(corp, scanned, *, create_time=None, state=None):
    """The callback of the add the simulator just made, stored as ingress stores it."""
    create_time = int(time.time()) if create_time is None else create_time
    payload = {"Event": "change_external_contact", "ChangeType": "add_external_contact",
               "CreateTime": create_time, "UserID": scanned.userid,
               "ExternalUserID": scanned.external_userid,
               "State": scanned.state if state is None else state, "WelcomeCode": str(scanned)}
    return WeComEvent.objects.create(
        corp=corp, dedupe_key=f"add:{scanned.userid}:{scanned.external_userid}:{create_time}",
        event="change_external_contact", change_type="add_external_contact",
        create_time=create_time, raw_xml="<xml/>", payload=payload, welcome_due=True)


def welcomes_to(sim, scanned) -> list[dict]:
    # The simulator lives for the module: earlier tests' messages are still listed.
    return [m for m in sim.control.welcome_messages()
            if m["external_userid"] == scanned.external_userid]


def dispatch(event, django_capture_on_commit_callbacks):
    """What the workers do with a stored add: the welcome lane sends its welcome, then the
    dispatch applies it."""
    lane = WelcomeLane()
    try:
        lane.run_round()
        lane.drain()
    finally:
        lane.close()
    with django_capture_on_commit_callbacks(execute=True):
        return dispatch_event(event.pk, corp_id=event.corp_id)


def test_scan_is_attributed_tagged_welcomed_and_written_to_the_timeline(
        corp, sim, code, tag, people, django_capture_on_commit_callbacks):
    scanned = sim.control.scan_contact_way(state=code.state)
    event = stored_add(corp, scanned)
    assert dispatch(event, django_capture_on_commit_callbacks) == "dispatched"

    customer = Customer.objects.for_corp(corp).get(external_userid=scanned.external_userid)
    [add] = LiveCodeAdd.objects.for_corp(corp)
    assert (add.live_code, add.customer, add.employee) == (code, customer, people[0])
    assert add.new_customer and not add.code_inactive
    assert add.event_key == event.dedupe_key
    assert CustomerTag.objects.for_corp(corp).filter(customer=customer, tag=tag).exists()

    [delivery] = WelcomeDelivery.objects.for_corp(corp)
    assert (delivery.status, delivery.source) == ("sent", "live_code")
    [received] = welcomes_to(sim, scanned)
    assert received["text"] == f"{customer.name}您好，我是员工0，双11见"

    added = TimelineEvent.objects.for_corp(corp).get(customer=customer,
                                                     kind=TimelineEvent.Kind.FOLLOW_ADDED)
    assert added.display_summary == "Added employee 员工0 through live code “双11直播”"
    counts = LiveCodeDailyCount.objects.for_corp(corp).get(live_code=code)
    assert (counts.employee, counts.count) == (people[0], 1)

    # The WeCom side of the tags is a follow-up job, queued after the add committed.
    [job] = DBTaskResult.objects.filter(task_path__endswith="live_code_add_followup")
    assert job.args_kwargs["kwargs"] == {"add_id": add.pk, "corp_id": corp.pk}
    assert live_code_add_followup.call(add_id=add.pk, corp_id=corp.pk) is True
    marks = [m for m in sim.control.tag_marks()
             if m["external_userid"] == scanned.external_userid]
    assert marks and tag.wecom_tag_id in marks[-1]["add_tag"]


def test_a_redelivered_or_redispatched_add_changes_nothing_twice(
        corp, sim, code, django_capture_on_commit_callbacks):
    scanned = sim.control.scan_contact_way(state=code.state)
    event = stored_add(corp, scanned)
    dispatch(event, django_capture_on_commit_callbacks)
    # A worker died after the handler ran: the event is claimable again and runs again.
    WeComEvent.objects.for_corp(corp).filter(pk=event.pk).update(status="stored")
    dispatch(event, django_capture_on_commit_callbacks)

    assert LiveCodeAdd.objects.for_corp(corp).count() == 1
    assert LiveCodeDailyCount.objects.for_corp(corp).get(live_code=code).count == 1
    assert len(welcomes_to(sim, scanned)) == 1
    assert TimelineEvent.objects.for_corp(corp).filter(
        kind=TimelineEvent.Kind.TAGGED).count() == 1
    assert DBTaskResult.objects.filter(task_path__endswith="live_code_add_followup").count() == 1


def test_a_customer_who_already_had_an_employee_is_not_new(
        corp, sim, code, people, django_capture_on_commit_callbacks):
    first = sim.control.add_customer(userid=people[1].userid)
    dispatch(stored_add(corp, first, create_time=int(time.time()) - 60),
             django_capture_on_commit_callbacks)
    again = sim.control.scan_contact_way(state=code.state, external_userid=first.external_userid)
    dispatch(stored_add(corp, again), django_capture_on_commit_callbacks)

    [add] = LiveCodeAdd.objects.for_corp(corp)
    assert add.customer.external_userid == first.external_userid
    assert not add.new_customer


def test_expired_code_is_attributed_apart_and_sends_the_default_welcome(
        corp, sim, code, people, django_capture_on_commit_callbacks):
    welcome_template_save(corp=corp, actor=None, employee=people[0], text="默认欢迎语")
    scanned = sim.control.scan_contact_way(state=code.state)
    LiveCode.objects.for_corp(corp).filter(pk=code.pk).update(
        expires_at=timezone.now() - timedelta(minutes=5))
    dispatch(stored_add(corp, scanned), django_capture_on_commit_callbacks)

    [add] = LiveCodeAdd.objects.for_corp(corp)
    assert add.code_inactive
    assert not LiveCodeDailyCount.objects.for_corp(corp).exists()
    [delivery] = WelcomeDelivery.objects.for_corp(corp)
    assert (delivery.status, delivery.source) == ("sent", "employee")
    assert [m["text"] for m in welcomes_to(sim, scanned)] == ["默认欢迎语"]


def test_other_states_are_not_attributed(corp, sim, code, people,
                                         django_capture_on_commit_callbacks):
    for state in ("poster", "lc_unknown"):
        scanned = sim.control.add_customer(userid=people[0].userid, state=state)
        dispatch(stored_add(corp, scanned), django_capture_on_commit_callbacks)
    assert not LiveCodeAdd.objects.for_corp(corp).exists()
    assert FollowRelation.objects.for_corp(corp).filter(state="lc_unknown").count() == 1
    assert not WelcomeDelivery.objects.for_corp(corp).filter(source="live_code").exists()


def test_delete_handled_before_the_add_still_attributes_the_add(
        corp, sim, code, django_capture_on_commit_callbacks):
    scanned = sim.control.scan_contact_way(state=code.state)
    added_at = int(time.time())
    sim.control.customer_deletes_employee(userid=scanned.userid,
                                          external_userid=scanned.external_userid)
    gone = {"Event": "change_external_contact", "ChangeType": "del_follow_user",
            "CreateTime": added_at + 5, "UserID": scanned.userid,
            "ExternalUserID": scanned.external_userid}
    delete = WeComEvent.objects.create(
        corp=corp, dedupe_key=f"del:{scanned.external_userid}", event=gone["Event"],
        change_type=gone["ChangeType"], create_time=added_at + 5, raw_xml="<xml/>", payload=gone)
    dispatch(delete, django_capture_on_commit_callbacks)
    dispatch(stored_add(corp, scanned, create_time=added_at), django_capture_on_commit_callbacks)

    [add] = LiveCodeAdd.objects.for_corp(corp)
    relation = FollowRelation.objects.for_corp(corp).get(customer=add.customer)
    assert relation.deleted_at is not None and relation.deleted_by == "customer"


def test_welcome_code_already_used_is_recorded_and_the_add_still_counts(
        corp, sim, code, django_capture_on_commit_callbacks):
    scanned = sim.control.scan_contact_way(state=code.state)
    sync_client_for(corp).send_welcome_msg(str(scanned), text="someone else was first")
    dispatch(stored_add(corp, scanned), django_capture_on_commit_callbacks)

    [delivery] = WelcomeDelivery.objects.for_corp(corp)
    assert (delivery.status, delivery.errcode) == ("failed", 41051)
    assert "41051" in delivery.reason
    assert LiveCodeAdd.objects.for_corp(corp).count() == 1


def test_round_robin_adds_queue_one_refresh_that_moves_the_code_on(
        corp, sim, people, django_capture_on_commit_callbacks):
    admin = UserFactory(corp=corp, role="admin")
    code = live_code_create(corp=corp, actor=admin, name="轮流接待", mode="round_robin",
                            members=[{"employee_id": p.pk} for p in people[:2]])
    way = next(w for w in sim.control.contact_ways()["contact_ways"]
               if w["config_id"] == code.wecom_config_id)
    assert way["user"] == [people[0].userid]

    for _ in range(2):
        scanned = sim.control.scan_contact_way(state=code.state)
        dispatch(stored_add(corp, scanned), django_capture_on_commit_callbacks)

    jobs = DBTaskResult.objects.filter(task_path__endswith="refresh_live_code")
    assert jobs.count() == 1, "a burst of adds queues one refresh, not one per add"
    assert LiveCodeRotation.objects.for_corp(corp).get(live_code=code).refresh_queued
    # Two turns taken: the next turn is people[0] again.
    assert refresh_live_code.call(live_code_id=code.pk) == [people[0].userid]
    assert not LiveCodeRotation.objects.for_corp(corp).get(live_code=code).refresh_queued
    scanned = sim.control.scan_contact_way(state=code.state)
    dispatch(stored_add(corp, scanned), django_capture_on_commit_callbacks)
    assert jobs.count() == 2
    assert refresh_live_code.call(live_code_id=code.pk) == [people[1].userid]
    way = next(w for w in sim.control.contact_ways()["contact_ways"]
               if w["config_id"] == code.wecom_config_id)
    assert way["user"] == [people[1].userid]
