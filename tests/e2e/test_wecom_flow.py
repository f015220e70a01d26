"""End to end over real HTTP: the WeCom simulator sends encrypted callbacks to Siyu's callback
endpoint (the live server), which stores them; real ``siyu worker`` processes dispatch them,
and the handlers call the simulated WeCom API back (the corp's API base URL is the
simulator's) and write customers, relationships, groups and tags.

Every scenario ends with "nothing lost, nothing doubled": one WeComEvent per callback however
often it was delivered, every event dispatched, none left stored or failed, and exact counts of
customers, relationships, timeline entries, group members and tags.
"""

from collections import Counter
from itertools import pairwise

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from siyu.accounts.tests.factories import CorpFactory
from siyu.core.leases import lease_release, this_holder
from siyu.customers.models import Customer, CustomerTag, FollowRelation, TimelineEvent
from siyu.groups.models import CustomerGroup, GroupMember, GroupMemberEvent
from siyu.tags.models import Tag, TagGroup
from siyu.wecom import feeder
from siyu.wecom.client import sync_client_for
from siyu.wecom.models import ApiCall, WeComEvent
from siyu.wecom.simulator.testing import running_simulator
from tests.e2e.wecom_support import (
    BLOCK_SECONDS,
    Workers,
    calls_of,
    sent_callbacks,
    settled,
    statuses,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CORP_ID = "wwe2esimulator00001"
GET = "externalcontact/get"
EMPLOYEES = ["emp001", "emp002", "emp003", "emp004", "emp005"]
DISPATCH_TASK = "siyu.wecom.tasks.dispatch_wecom_events"
Kind = TimelineEvent.Kind


@pytest.fixture
def sim(live_server, monkeypatch):
    # Django's test server leaves Nagle's algorithm on: on a kept-alive connection each answer
    # then waits ~40 ms for the sender's delayed ACK, and a burst of callbacks takes seconds.
    # Servers Siyu runs behind in production set TCP_NODELAY, as this does.
    monkeypatch.setattr(WSGIRequestHandler, "disable_nagle_algorithm", True)
    # No customers to begin with: everything Siyu ends up with came through the callbacks.
    with running_simulator(corp_id=CORP_ID, seed=7, employees=6, customers=0, groups=2,
                           minute_block_s=BLOCK_SECONDS,
                           callback_url=f"{live_server.url}/wecom/callback/{CORP_ID}/") as running:
        yield running


@pytest.fixture
def corp(sim):
    config = sim.config
    return CorpFactory(corp_id=config.corp_id, contact_secret=config.contact_secret,
                       callback_token=config.callback_token, encoding_aes_key=config.aes_key,
                       api_base_url=sim.base_url)


@pytest.fixture
def workers(tmp_path, corp):
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


def dispatch_tasks(event_id=None) -> list[DBTaskResult]:
    tasks = DBTaskResult.objects.filter(task_path=DISPATCH_TASK)
    return [t for t in tasks
            if event_id is None or event_id in t.args_kwargs["kwargs"]["event_ids"]]


def dispatched_ids() -> list[int]:
    """Every event id the feeder put in a job, once per job it went into."""
    return sorted(i for t in dispatch_tasks() for i in t.args_kwargs["kwargs"]["event_ids"])


def wait_until_settled(workers, corp, control, timeout: float = 30) -> list[dict]:
    """Waits until the simulator has delivered every callback and Siyu has dispatched every
    event and finished every dispatch task; returns the simulator's original callbacks."""
    assert control.wait_callbacks(timeout)
    originals, duplicates = sent_callbacks(control)
    for record in originals + duplicates:
        # Acknowledged at once, never re-sent by the simulator for want of an answer.
        assert record["status"] == "delivered", record
        assert [a["http_status"] for a in record["attempts"]] == [200], record
    workers.wait_for(lambda: settled(corp, len(originals)) and all(
        t.status == TaskResultStatus.SUCCESSFUL for t in dispatch_tasks()),
        f"{len(originals)} events dispatched", timeout)
    return originals


def assert_one_event_per_callback(corp, originals) -> None:
    events = WeComEvent.objects.for_corp(corp)
    assert statuses(corp) == {WeComEvent.Status.DISPATCHED: len(originals)}
    sent = Counter((r["event"], r["change_type"]) for r in originals)
    assert Counter(events.values_list("event", "change_type")) == sent
    assert not events.exclude(error="").exists()


def timeline(corp) -> Counter:
    return Counter(TimelineEvent.objects.for_corp(corp).values_list("kind", flat=True))


def follows(corp) -> dict:
    """{(external_userid, userid): (active, deleted_by, state)} of every relationship."""
    return {(f.customer.external_userid, f.employee.userid): (f.is_active, f.deleted_by, f.state)
            for f in FollowRelation.objects.for_corp(corp).select_related("customer", "employee")}


def tag_id(wecom, group_name: str, name: str) -> str:
    [group] = [g for g in wecom.tag_groups.values() if g["group_name"] == group_name]
    [found] = [t for t in group["tag_ids"] if wecom.tags[t]["name"] == name]
    return found


def assert_members_match(corp, wecom, chat_id: str, quitters: set) -> None:
    """Siyu's members of a group are WeCom's current ones, plus the quitters (ended)."""
    group = CustomerGroup.objects.for_corp(corp).get(chat_id=chat_id)
    listed = {m["userid"] for m in wecom.chats[chat_id]["member_list"]}
    rows = GroupMember.objects.for_corp(corp).filter(group=group)
    assert set(rows.filter(quit_at__isnull=True).values_list("userid", flat=True)) == listed
    assert set(rows.filter(quit_at__isnull=False).values_list("userid", flat=True)) == quitters
    assert group.member_count == len(listed)
    history = Counter(GroupMemberEvent.objects.for_corp(corp).filter(group=group)
                      .values_list("kind", flat=True))
    assert history == Counter(joined=len(listed | quitters), quit=len(quitters))


def test_a_burst_delivered_twice_and_out_of_order_is_applied_once(corp, sim, workers):
    control, wecom = sim.control, sim.simulator.state
    chat_a, chat_b = list(wecom.chats)
    vip, skincare = tag_id(wecom, "客户等级", "VIP"), tag_id(wecom, "兴趣偏好", "护肤")
    live = tag_id(wecom, "来源渠道", "直播间")
    # One task at a time: this test is about order and duplicates. Concurrent handlers of one
    # customer may collide on an insert and retry (see dispatch.RETRYABLE), which would make
    # the attempt counts below depend on timing.
    workers.start(threads=1)

    def first_follower(i):
        return EMPLOYEES[i % len(EMPLOYEES)]

    def second_follower(i):
        return EMPLOYEES[(i + 1) % len(EMPLOYEES)]

    def add(i):
        return control.add_customer(first_follower(i), state=f"poster{i % 3}",
                                    duplicate=True).external_userid

    # Batch 1, released newest first: deletions before their adds, the quit before the join,
    # a customer's group join and tag edit before the customer is known.
    control.hold_callbacks()
    ext = [add(i) for i in range(20)]
    for i in (0, 1):
        control.add_customer(second_follower(i), external_userid=ext[i], state="expo",
                             duplicate=True)
    control.delete_customer(first_follower(2), ext[2], duplicate=True)
    control.delete_customer(first_follower(3), ext[3], duplicate=True)
    control.customer_deletes_employee(first_follower(0), ext[0], duplicate=True)
    control.join_group(chat_a, ext[4:7], duplicate=True)
    control.join_group(chat_b, [ext[7]], duplicate=True)
    control.quit_group(chat_a, ext[5], duplicate=True)
    new_tag = control.edit_tags(op="create", group_id=wecom.tags[vip]["group_id"],
                                name="E2E新标签", duplicate=True)["changed"][0]["id"]
    control.edit_tags(op="update", id=vip, name="VIP客户", duplicate=True)
    control.edit_tags(op="update", id=live, name="直播间（改）", duplicate=True)
    control.edit_customer(first_follower(8), ext[8], add_tags=[skincare], remark="老客户",
                          duplicate=True)
    control.release_callbacks("reverse")

    # Batch 2, shuffled, while batch 1 is still being dispatched.
    control.hold_callbacks()
    ext += [add(i) for i in range(20, 30)]
    control.add_customer(second_follower(20), external_userid=ext[20], state="expo",
                         duplicate=True)
    control.delete_customer(first_follower(21), ext[21], duplicate=True)
    control.customer_deletes_employee(first_follower(22), ext[22], duplicate=True)
    control.customer_deletes_employee(first_follower(9), ext[9], duplicate=True)
    control.join_group(chat_b, [ext[23]], duplicate=True)
    control.quit_group(chat_b, ext[7], quit_scene=1, duplicate=True)
    control.edit_tags(op="delete", id=live, duplicate=True)
    control.release_callbacks("shuffle")

    originals = wait_until_settled(workers, corp, control)
    assert len(originals) == 49
    assert_one_event_per_callback(corp, originals)
    # Once each: a delivery that found its event stored enqueued nothing.
    assert WeComEvent.objects.for_corp(corp).exclude(attempts=1).count() == 0
    # The feeder put each event in one job (a job holds several).
    every_event = WeComEvent.objects.for_corp(corp).values_list("pk", flat=True)
    assert dispatched_ids() == sorted(every_event)

    # WeCom answers nothing about a customer nobody follows any more (84061): those whose only
    # relationship ended before their add was read are known by their id alone.
    assert sorted(Customer.objects.for_corp(corp).values_list("external_userid", "name")) == \
        sorted((e, wecom.customers[e]["name"] if wecom.follows[e] else e) for e in ext)
    ended = {(ext[2], first_follower(2)): "employee", (ext[3], first_follower(3)): "employee",
             (ext[21], first_follower(21)): "employee", (ext[0], first_follower(0)): "customer",
             (ext[22], first_follower(22)): "customer", (ext[9], first_follower(9)): "customer"}
    expected = {(e, first_follower(i)): (True, "", f"poster{i % 3}") for i, e in enumerate(ext)}
    expected.update({(ext[i], second_follower(i)): (True, "", "expo") for i in (0, 1, 20)})
    for key, deleted_by in ended.items():
        expected[key] = (False, deleted_by, expected[key][2])
    assert follows(corp) == expected
    # What the simulated WeCom lists now is exactly what is active here.
    assert {k for k, (active, *_rest) in expected.items() if active} == {
        (e, userid) for e, followers in wecom.follows.items() for userid in followers}

    assert timeline(corp) == {
        Kind.CREATED: 30, Kind.FOLLOW_ADDED: 33, Kind.FOLLOW_DELETED: 6,
        Kind.FOLLOW_EDITED: 1, Kind.TAGGED: 1, Kind.GROUP_JOINED: 5, Kind.GROUP_QUIT: 2}

    assert CustomerGroup.objects.for_corp(corp).count() == 2
    assert_members_match(corp, wecom, chat_a, {ext[5]})
    assert_members_match(corp, wecom, chat_b, {ext[7]})
    linked = GroupMember.objects.for_corp(corp).filter(customer__isnull=False)
    assert sorted(linked.values_list("userid", flat=True)) == sorted(
        [ext[4], ext[5], ext[6], ext[7], ext[23]])

    assert sorted(Tag.objects.for_corp(corp).values_list("wecom_tag_id", "name")) == sorted(
        [(new_tag, "E2E新标签"), (vip, "VIP客户"), (skincare, "护肤")])
    assert sorted(TagGroup.objects.for_corp(corp).values_list("name", flat=True)) == [
        "兴趣偏好", "客户等级"]  # 来源渠道 went with its only tag known here
    assert list(CustomerTag.objects.for_corp(corp).values_list(
        "customer__external_userid", "tag__wecom_tag_id")) == [(ext[8], skincare)]


def test_token_expiry_mid_run_gets_a_new_token_and_loses_nothing(corp, sim, workers):
    control = sim.control
    workers.start()
    ext = [control.add_customer(EMPLOYEES[i % 2], duplicate=True).external_userid
           for i in range(5)]
    wait_until_settled(workers, corp, control)
    assert control.calls()["per_api"]["gettoken"]["total"] == 1

    assert control.expire_tokens() >= 1
    ext += [control.add_customer(EMPLOYEES[i % 2], duplicate=True).external_userid
            for i in range(5)]
    chat_id = next(iter(sim.simulator.state.chats))
    control.join_group(chat_id, ext[-2:], duplicate=True)
    originals = wait_until_settled(workers, corp, control)

    assert len(originals) == 11
    assert_one_event_per_callback(corp, originals)
    # The handlers never saw the expiry: the client fetched a new token and went on.
    assert WeComEvent.objects.for_corp(corp).exclude(attempts=1).count() == 0
    per_api = control.calls()["per_api"]
    assert per_api["gettoken"] == {"total": 2, "errcodes": {"0": 2}}
    # Calls in flight together with the expired token are each refused once (a worker runs
    # several tasks at once); they share the one new token.
    refused = per_api[GET]["errcodes"].pop("42001")
    assert per_api[GET]["errcodes"] == {"0": 10} and 1 <= refused <= 5
    assert Customer.objects.for_corp(corp).count() == 10
    assert FollowRelation.objects.for_corp(corp).filter(deleted_at__isnull=True).count() == 10
    assert timeline(corp) == {Kind.CREATED: 10, Kind.FOLLOW_ADDED: 10, Kind.GROUP_JOINED: 2}


def test_45009_and_busy_bursts_are_waited_out_without_hammering(corp, sim, workers):
    control = sim.control
    # One task at a time, so each call follows the previous answer: calls already in flight
    # together when a block begins are refused by WeCom, whatever the limiter does.
    workers.start(threads=1)

    def add_customers(count):
        return [control.add_customer(EMPLOYEES[i % 3], duplicate=True).external_userid
                for i in range(count)]

    # A 45009, then three -1s: the client waits the block out, then retries with backoff.
    control.inject_faults(api=GET, errcode=45009, count=1)
    control.inject_faults(api=GET, errcode=-1, count=3)
    add_customers(4)
    wait_until_settled(workers, corp, control)
    # More -1s than the client tries per call: the dispatch job is retried, and succeeds.
    control.inject_faults(api=GET, errcode=-1, count=7)
    [busy] = add_customers(1)
    wait_until_settled(workers, corp, control)
    # 45009 twice in a row: both blocks are waited out.
    control.inject_faults(api=GET, errcode=45009, count=2)
    add_customers(2)
    originals = wait_until_settled(workers, corp, control)

    assert len(originals) == 7
    assert_one_event_per_callback(corp, originals)
    retried = WeComEvent.objects.for_corp(corp).exclude(attempts=1)
    assert list(retried.values_list("payload__ExternalUserID", "attempts")) == [(busy, 2)]
    calls = calls_of(control, GET)
    assert Counter(c["errcode"] for c in calls) == {0: 7, -1: 10, 45009: 3}
    for blocked, following in pairwise(calls):
        if blocked["errcode"] == 45009:
            # No call during the block: the next one waits it out.
            assert following["at"] - blocked["at"] >= BLOCK_SECONDS - 0.05, calls
    logged = Counter(ApiCall.objects.for_corp(corp).filter(api=GET)
                     .values_list("errcode", flat=True))
    assert logged == {0: 7, -1: 10, 45009: 3}
    assert Customer.objects.for_corp(corp).count() == 7
    assert timeline(corp) == {Kind.CREATED: 7, Kind.FOLLOW_ADDED: 7}


def test_a_worker_killed_between_store_and_dispatch_loses_nothing(corp, sim, workers):
    control = sim.control
    chat_id = next(iter(sim.simulator.state.chats))
    # No worker yet: the callbacks are acknowledged and stored; no job exists until a worker's
    # feeder queues them.
    ext = [control.add_customer(EMPLOYEES[i % 4], duplicate=True).external_userid
           for i in range(8)]
    control.join_group(chat_id, ext[:3], duplicate=True)
    assert control.wait_callbacks(20)
    assert statuses(corp) == {WeComEvent.Status.STORED: 9}
    assert dispatch_tasks() == []
    # The access token first: a worker killed while fetching it would leave the refresh claimed
    # for tokens.CLAIM_SECONDS, and the next run would wait that out past its dispatch lease
    # (a third attempt). That case is the token cache's; this test is about the lease.
    sync_client_for(corp).get_external_contact(ext[0])

    # Slow API answers, so the first worker is caught in the middle of a dispatch.
    control.set_latency(700)
    timings = {"stale_seconds": 2, "lease_seconds": 4, "sweep_every": 1}
    first = workers.start(**timings)
    in_flight = WeComEvent.objects.for_corp(corp).filter(status=WeComEvent.Status.DISPATCHING)
    workers.wait_for(in_flight.exists, "the first worker to begin a dispatch")
    workers.kill(first)
    # A worker runs several jobs at once (threads), each dispatching its events one by one:
    # one or more events were in flight, each in a running job.
    victims = list(in_flight)
    assert victims
    held = {t.pk: t for v in victims for t in dispatch_tasks(v.pk)
            if t.status == TaskResultStatus.RUNNING}.values()
    assert held and all(any(v.pk in t.args_kwargs["kwargs"]["event_ids"] for v in victims)
                        for t in held)

    control.set_latency(0)
    workers.start(**timings)
    originals = wait_until_settled(workers, corp, control)

    assert len(originals) == 9
    assert_one_event_per_callback(corp, originals)
    for victim in victims:
        victim.refresh_from_db()
        assert victim.attempts == 2  # the killed run, and the run after its lease ran out
    for task in held:
        task.refresh_from_db()
        assert len(task.worker_ids) == 2  # the killed worker's task was re-driven too
    assert WeComEvent.objects.for_corp(corp).exclude(pk__in=[v.pk for v in victims]).exclude(
        attempts=1).count() == 0
    assert Customer.objects.for_corp(corp).count() == 8
    assert FollowRelation.objects.for_corp(corp).filter(deleted_at__isnull=True).count() == 8
    assert timeline(corp) == {Kind.CREATED: 8, Kind.FOLLOW_ADDED: 8, Kind.GROUP_JOINED: 3}
    assert_members_match(corp, sim.simulator.state, chat_id, set())
    assert control.calls()["per_api"]["gettoken"]["total"] == 1  # no worker had to refresh


def test_an_event_whose_job_was_lost_is_fed_again_by_the_sweeper(corp, sim, workers):
    control = sim.control
    ext = [control.add_customer(EMPLOYEES[i], duplicate=True).external_userid for i in range(3)]
    assert control.wait_callbacks(20)
    lost = WeComEvent.objects.for_corp(corp).get(payload__ExternalUserID=ext[1])
    assert feeder.feed() == 3  # this process feeds once, then lets the lease go
    lease_release(feeder.LEASE_NAME, this_holder())
    [task] = dispatch_tasks(lost.pk)
    task.delete()  # as if the worker holding the job died before starting it

    # A short dispatch lease makes the sweeper return the job's events soon; a short stale time
    # makes the housekeeping thread, which runs the sweeper, go often.
    workers.start(stale_seconds=2, lease_seconds=2, sweep_every=1)
    originals = wait_until_settled(workers, corp, control)

    assert len(originals) == 3
    assert_one_event_per_callback(corp, originals)
    assert WeComEvent.objects.for_corp(corp).exclude(attempts=1).count() == 0
    assert len(dispatch_tasks(lost.pk)) == 1  # queued again by the feeder, once
    assert "WeCom sweeper returned" in workers.output()
    assert Customer.objects.for_corp(corp).count() == 3
    assert timeline(corp) == {Kind.CREATED: 3, Kind.FOLLOW_ADDED: 3}
