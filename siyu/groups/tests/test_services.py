"""Group services as the sync and the callbacks use them."""

import datetime

import time_machine

from siyu.core.models import AuditLog
from siyu.customers.models import TimelineEvent
from siyu.groups import services
from siyu.groups.models import CustomerGroup, GroupMember, GroupMemberEvent
from siyu.groups.services import (
    group_dismiss,
    group_members_joined,
    group_members_link_customer,
    group_members_quit,
    group_upsert_from_wecom,
)

T0 = 1_772_000_000


def chat(members, **fields):
    return {"chat_id": "wrSVC", "name": "服务群", "owner": "x_a", "create_time": T0,
            "notice": "", "member_list": members, **fields}


def external(userid, join_time, **extra):
    return {"userid": userid, "type": 2, "join_time": join_time, "join_scene": 3, **extra}


def rows(corp):
    return {m.userid: m for m in GroupMember.objects.for_corp(corp).filter(group__chat_id="wrSVC")}


def test_upsert_sets_owner_members_and_count(world):
    a1 = world.customers["A1"]
    group = group_upsert_from_wecom(corp=world.corp, chat=chat([
        {"userid": "x_a", "type": 1, "join_time": T0, "join_scene": 1},
        external(a1.external_userid, T0 + 1, group_nickname="老王", invitor={"userid": "x_a"}),
    ]))
    assert group.owner == world.employees["a"] and group.member_count == 2
    row = rows(world.corp)[a1.external_userid]
    assert (row.customer, row.name, row.invitor_userid) == (a1, "老王", "x_a")
    assert AuditLog.objects.for_corp(world.corp).filter(action="group.create").exists()
    assert TimelineEvent.objects.for_corp(world.corp).filter(
        customer=a1, kind="group_joined").count() == 1


def test_sync_prunes_members_no_longer_listed_callbacks_do_not(world):
    group_upsert_from_wecom(corp=world.corp, chat=chat([external("wmA", T0), external("wmB", T0)]))
    group_upsert_from_wecom(corp=world.corp, chat=chat([external("wmA", T0)]))
    assert rows(world.corp)["wmB"].quit_at is None  # a callback's read: the quit event decides
    with time_machine.travel(datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC), tick=False):
        group = group_upsert_from_wecom(corp=world.corp, chat=chat([external("wmA", T0)]),
                                        prune_members=True)
    assert rows(world.corp)["wmB"].quit_at == datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)
    assert group.member_count == 1


def test_joins_and_quits_keep_history_once_each(world):
    group = group_upsert_from_wecom(corp=world.corp, chat=chat([]))
    for _ in range(2):
        group_members_joined(corp=world.corp, group=group, userids=["wmC"], event_time=T0 + 5,
                             join_scene="0")
        group_members_quit(corp=world.corp, group=group, userids=["wmC"], event_time=T0 + 9,
                           quit_scene="0")
    assert list(GroupMemberEvent.objects.for_corp(world.corp).filter(userid="wmC")
                .order_by("occurred_at").values_list("kind", "scene")) == [
        ("joined", 1), ("quit", 0)]
    row = rows(world.corp)["wmC"]
    assert row.join_scene == 1 and row.quit_scene == 0  # callback JoinScene 0 = invited (1)


def test_customer_known_later_gets_their_memberships(world):
    group = group_upsert_from_wecom(corp=world.corp, chat=chat([external("wmLATE", T0)]))
    customer = world.customers["B1"]
    customer.external_userid = "wmLATE"
    customer.save()
    assert group_members_link_customer(corp=world.corp, customer=customer) == 1
    assert rows(world.corp)["wmLATE"].customer == customer
    assert GroupMemberEvent.objects.for_corp(world.corp).get(userid="wmLATE").customer == (
        customer)
    assert group.member_count == 1


def test_joins_and_quits_before_the_customer_was_known_reach_their_timeline_once(world):
    # A join and a quit callback handled before the customer's add callback (out of order).
    group = group_upsert_from_wecom(corp=world.corp, chat=chat([]))
    group_members_joined(corp=world.corp, group=group, userids=["wmLATE"], event_time=T0 + 5,
                         join_scene="3")
    group_members_quit(corp=world.corp, group=group, userids=["wmLATE"], event_time=T0 + 9,
                       quit_scene="1")
    customer = world.customers["B1"]
    customer.external_userid = "wmLATE"
    customer.save()
    entries = TimelineEvent.objects.for_corp(world.corp).filter(customer=customer,
                                                                kind__startswith="group_")
    assert not entries.exists()
    for _ in range(2):  # linked again by the customer's next callback: nothing new
        group_members_link_customer(corp=world.corp, customer=customer)
    assert sorted((e.kind, e.occurred_at.timestamp(), e.data["scene"]) for e in entries) == [
        ("group_joined", T0 + 5, 3), ("group_quit", T0 + 9, 1)]


def test_a_customer_added_while_the_join_was_being_written_is_linked_after_it(
        world, monkeypatch):
    """Two worker threads at once: the join's transaction looked for the customer before the
    add committed it, and the add linked memberships before the join committed. The join,
    once committed, links what it could not see."""
    group = group_upsert_from_wecom(corp=world.corp, chat=chat([]))
    customer = world.customers["B1"]
    customer.external_userid = "wmRACE"
    customer.save()
    monkeypatch.setattr(services, "_customer_for", lambda corp, userid: None)  # not yet visible
    group_members_joined(corp=world.corp, group=group, userids=["wmRACE"], event_time=T0 + 5,
                         join_scene="3")
    member = GroupMember.objects.for_corp(world.corp).get(group=group, userid="wmRACE")
    assert member.customer == customer
    entries = TimelineEvent.objects.for_corp(world.corp).filter(customer=customer,
                                                                kind="group_joined")
    assert entries.count() == 1


def test_a_dismissed_group_stays_dismissed(world):
    group_upsert_from_wecom(corp=world.corp, chat=chat([]))
    group_dismiss(corp=world.corp, chat_id="wrSVC", event_time=T0 + 50)
    group_upsert_from_wecom(corp=world.corp, chat=chat([], name="改名"))
    group = CustomerGroup.objects.for_corp(world.corp).get(chat_id="wrSVC")
    assert (group.status, group.name) == ("dismissed", "改名")
    assert AuditLog.objects.for_corp(world.corp).filter(action="group.dismiss").count() == 1
    group_dismiss(corp=world.corp, chat_id="wrSVC", event_time=T0 + 60)
    assert AuditLog.objects.for_corp(world.corp).filter(action="group.dismiss").count() == 1
