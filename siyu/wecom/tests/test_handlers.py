"""Callback handlers for change_external_contact, change_external_chat and change_external_tag:
each ChangeType, and the same final state whatever order or how often callbacks arrive."""

import datetime
import random

import pytest
import time_machine
from django.db import transaction
from django.utils import translation

from siyu.core.jobs import TransientError
from siyu.core.models import AuditLog
from siyu.customers.models import Customer, CustomerTag, FollowRelation, TimelineEvent
from siyu.customers.tests.factories import CustomerTagFactory, TagFactory
from siyu.groups.models import CustomerGroup, GroupMember, GroupMemberEvent
from siyu.tags.models import Tag, TagGroup
from siyu.wecom import reads
from siyu.wecom.dispatch import dispatch_event
from siyu.wecom.errors import WeComError, WeComTransientError
from siyu.wecom.models import WeComEvent
from siyu.wecom.tests.callback_helpers import contact_xml, event_xml, post_callback
from siyu.wecom.tests.handler_helpers import (
    FakeWeCom,
    chat_event,
    contact_event,
    deliver,
    final_state,
    follow_entry,
    member,
    orders,
    tag_event,
    tag_group,
)

NOW = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=datetime.UTC)
T0 = 1_772_000_000  # callbacks' CreateTime base, before NOW


def at(offset: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(T0 + offset, tz=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_clock_in_english():
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


@pytest.fixture
def wecom(monkeypatch):
    fake = FakeWeCom()
    monkeypatch.setattr(reads, "client_factory", lambda corp: fake)
    return fake


def follow_of(corp, external_userid, userid) -> FollowRelation:
    return (FollowRelation.objects.for_corp(corp).select_related("employee")
            .get(customer__external_userid=external_userid, employee__userid=userid))


def timeline(corp, external_userid, kind=None) -> list[TimelineEvent]:
    entries = TimelineEvent.objects.for_corp(corp).filter(
        customer__external_userid=external_userid).order_by("occurred_at", "id")
    return list(entries.filter(kind=kind) if kind else entries)


def customer_tag_names(corp, external_userid) -> set[str]:
    return set(CustomerTag.objects.for_corp(corp).filter(
        customer__external_userid=external_userid).values_list("tag__name", flat=True))


# ---------- change_external_contact, each ChangeType ----------

def test_add_external_contact_creates_customer_and_relationship(world, wecom):
    wecom.tag_groups = [tag_group("etG", "客户意向", [("etHOT", "高意向", 5)])]
    wecom.set_contact("wmNEW1", "王小明", [follow_entry(
        "x_a", remark="王总", description="老客户介绍", state="expo2026", tags=["etHOT"],
        createtime=T0 + 100, add_way=1, remark_mobiles=["13800000001"])],
        avatar="https://wework.qpic.cn/a.png", unionid="uWANG", corp_name="")
    deliver(world.corp, contact_event("add_external_contact", "x_a", "wmNEW1", T0 + 100,
                                      State="expo2026", WelcomeCode="WELCOME-1"))

    customer = Customer.objects.for_corp(world.corp).get(external_userid="wmNEW1")
    assert (customer.name, customer.avatar, customer.unionid, customer.gender) == (
        "王小明", "https://wework.qpic.cn/a.png", "uWANG", 1)
    follow = follow_of(world.corp, "wmNEW1", "x_a")
    assert follow.is_active and follow.added_at == at(100)
    assert (follow.remark, follow.description, follow.state, follow.add_way,
            follow.remark_mobiles) == ("王总", "老客户介绍", "expo2026", 1, ["13800000001"])
    # The unknown corp tag was read from WeCom, created here and linked.
    assert Tag.objects.for_corp(world.corp).get(wecom_tag_id="etHOT").group.name == "客户意向"
    assert customer_tag_names(world.corp, "wmNEW1") == {"高意向"}
    kinds = [e.kind for e in timeline(world.corp, "wmNEW1")]
    assert kinds.count("follow_added") == 1 and "created" in kinds and "tagged" in kinds
    [added] = timeline(world.corp, "wmNEW1", "follow_added")
    assert added.occurred_at == at(100) and added.employee.userid == "x_a"
    assert added.data["state"] == "expo2026" and "expo2026" in added.summary
    with translation.override("zh-hans"):  # shown in the reader's language
        assert added.display_summary == f"通过渠道 expo2026 添加了员工 {world.employees['a'].name}"
    # The welcome message is not this handler's business: nothing but reads went to WeCom.
    assert {call[0] for call in wecom.calls} == {"get_external_contact", "get_corp_tag_list"}


def test_add_uses_the_callbacks_state_when_wecom_lists_no_relationship(world, wecom):
    # Read after the customer already deleted the employee: WeCom answers 84061.
    deliver(world.corp, contact_event("add_external_contact", "x_a", "wmGONE", T0 + 10,
                                      State="poster"))
    follow = follow_of(world.corp, "wmGONE", "x_a")
    assert follow.is_active and follow.state == "poster"
    assert Customer.objects.for_corp(world.corp).get(external_userid="wmGONE").name == "wmGONE"


def test_add_half_external_contact_is_recorded_as_not_yet_accepted(world, wecom):
    wecom.set_contact("wmHALF", "半添加", [follow_entry("x_b", createtime=T0 + 5)])
    deliver(world.corp, contact_event("add_half_external_contact", "x_b", "wmHALF", T0 + 5))
    assert follow_of(world.corp, "wmHALF", "x_b").is_active
    [added] = timeline(world.corp, "wmHALF", "follow_added")
    assert added.data["half"] is True and "not accepted" in added.summary


def test_edit_external_contact_updates_remark_and_tags(world, wecom):
    wecom.tag_groups = [tag_group("etG", "等级", [("etA", "金卡", 1), ("etB", "银卡", 0)])]
    wecom.set_contact("wmEDIT", "老李", [follow_entry("x_a", remark="李", tags=["etA"],
                                                        createtime=T0)])
    deliver(world.corp, contact_event("add_external_contact", "x_a", "wmEDIT", T0))
    customer = Customer.objects.for_corp(world.corp).get(external_userid="wmEDIT")
    CustomerTagFactory(corp=world.corp, customer=customer, tag=world.tags["vip"])  # Siyu's own

    wecom.set_contact("wmEDIT", "老李", [follow_entry("x_a", remark="李总", tags=["etB"],
                                                        description="爱喝茶", createtime=T0)])
    deliver(world.corp, contact_event("edit_external_contact", "x_a", "wmEDIT", T0 + 50))

    follow = follow_of(world.corp, "wmEDIT", "x_a")
    assert (follow.remark, follow.description) == ("李总", "爱喝茶")
    # etA removed in WeCom → unlinked; etB added; the tag added in Siyu stays.
    assert customer_tag_names(world.corp, "wmEDIT") == {"银卡", "VIP"}
    [edited] = timeline(world.corp, "wmEDIT", "follow_edited")
    assert edited.occurred_at == at(50) and edited.employee.userid == "x_a"
    assert edited.data["changes"]["remark"] == ["李", "李总"]
    assert [e.data["tag"] for e in timeline(world.corp, "wmEDIT", "untagged")] == ["金卡"]
    assert AuditLog.objects.for_corp(world.corp).filter(action="follow.update").exists()


def test_del_external_contact_means_the_employee_deleted_the_customer(world, wecom):
    wecom.set_contact("wmDEL", "张三", [follow_entry("x_a", createtime=T0)])
    deliver(world.corp, contact_event("add_external_contact", "x_a", "wmDEL", T0))
    wecom.contacts.pop("wmDEL")
    deliver(world.corp, contact_event("del_external_contact", "x_a", "wmDEL", T0 + 60,
                                      Source="DELETE_BY_TRANSFER"))
    follow = follow_of(world.corp, "wmDEL", "x_a")
    assert follow.deleted_at == at(60) and follow.deleted_by == "employee"
    [ended] = timeline(world.corp, "wmDEL", "follow_deleted")
    assert ended.data["deleted_by"] == "employee" and ended.data["source"] == (
        "DELETE_BY_TRANSFER")
    assert ended.summary == f"{world.employees['a'].name} deleted the customer"
    assert AuditLog.objects.for_corp(world.corp).filter(action="follow.end").count() == 1


def test_del_follow_user_means_the_customer_deleted_the_employee(world, wecom):
    wecom.set_contact("wmDF", "李四", [follow_entry("x_a", createtime=T0),
                                        follow_entry("x_b", createtime=T0)])
    deliver(world.corp, contact_event("add_external_contact", "x_a", "wmDF", T0))
    deliver(world.corp, contact_event("add_external_contact", "x_b", "wmDF", T0))
    wecom.set_contact("wmDF", "李四", [follow_entry("x_b", createtime=T0)])
    deliver(world.corp, contact_event("del_follow_user", "x_a", "wmDF", T0 + 70))
    assert follow_of(world.corp, "wmDF", "x_a").deleted_by == "customer"
    assert follow_of(world.corp, "wmDF", "x_b").is_active
    [ended] = timeline(world.corp, "wmDF", "follow_deleted")
    assert ended.summary == f"The customer deleted {world.employees['a'].name}"


def test_transfer_fail_records_the_reason(world, wecom):
    external_userid = world.customers["A1"].external_userid
    wecom.set_contact(external_userid, world.customers["A1"].name,
                      [follow_entry("x_a", createtime=T0)])
    for _ in range(2):
        deliver(world.corp, contact_event("transfer_fail", "x_b", external_userid, T0 + 9,
                                          FailReason="customer_refused"))
    [failed] = timeline(world.corp, external_userid, "transfer_failed")
    assert failed.data["reason"] == "customer_refused"
    assert failed.employee.userid == "x_b"
    with translation.override("zh-hans"):
        assert failed.display_summary == f"转接给 {world.employees['b'].name} 失败：客户拒绝了"
    # Nothing else changes: A1 still belongs to x_a only.
    assert not FollowRelation.objects.for_corp(world.corp).filter(
        customer=world.customers["A1"], employee__userid="x_b").exists()


def test_delete_of_a_customer_unknown_here_is_recorded_as_ended(world, wecom):
    deliver(world.corp, contact_event("del_follow_user", "x_a", "wmNEVERSEEN", T0 + 5))
    follow = follow_of(world.corp, "wmNEVERSEEN", "x_a")
    assert not follow.is_active and follow.deleted_by == "customer"


def test_unknown_employee_becomes_a_placeholder_until_the_sync(world, wecom):
    wecom.set_contact("wmP", "某人", [follow_entry("newbie", createtime=T0)])
    deliver(world.corp, contact_event("add_external_contact", "newbie", "wmP", T0))
    assert follow_of(world.corp, "wmP", "newbie").employee.name == "newbie"


def test_callback_without_ids_fails_clearly(world, wecom):
    payload = contact_event("add_external_contact", "x_a", "", T0)
    with pytest.raises(ValueError, match="ExternalUserID"):
        deliver(world.corp, payload)
    assert not Customer.objects.for_corp(world.corp).filter(name="").exists()


def test_wecom_errors_propagate_for_dispatch_to_retry_or_fail(world, wecom):
    wecom.fail_with = WeComTransientError(-1, "system busy", "externalcontact/get")
    with pytest.raises(TransientError):
        deliver(world.corp, contact_event("add_external_contact", "x_a", "wmX", T0))
    wecom.fail_with = WeComError(48002, "api forbidden", "externalcontact/get")
    with pytest.raises(WeComError):
        deliver(world.corp, contact_event("add_external_contact", "x_a", "wmX", T0))
    assert not Customer.objects.for_corp(world.corp).filter(external_userid="wmX").exists()


def test_customer_events_stay_in_their_corp(world, other_world, wecom):
    wecom.set_contact("wmSHARED", "共享", [follow_entry("x_a", createtime=T0)])
    deliver(world.corp, contact_event("add_external_contact", "x_a", "wmSHARED", T0))
    assert not Customer.objects.for_corp(other_world.corp).filter(
        external_userid="wmSHARED").exists()
    deliver(other_world.corp, contact_event("del_follow_user", "y_a", "wmSHARED", T0 + 1))
    assert follow_of(world.corp, "wmSHARED", "x_a").is_active


def test_a_signed_callback_is_stored_then_dispatched_to_its_handler(client, world, wecom):
    wecom.set_contact("wmWIRE", "线上", [follow_entry("x_a", createtime=T0)])
    xml = contact_xml(world.corp.corp_id, "add_external_contact", userid="x_a",
                      external_userid="wmWIRE", create_time=T0, State="poster",
                      WelcomeCode="WELCOME-9")
    assert post_callback(client, world.corp, xml).status_code == 200
    chat_xml = event_xml(world.corp.corp_id, create_time=T0 + 1, Event="change_external_chat",
                         ChangeType="update", ChatId="wrWIRE", UpdateDetail="add_member",
                         JoinScene="3", MemChangeCnt="1", MemChangeList=["wmWIRE"])
    assert post_callback(client, world.corp, chat_xml).status_code == 200
    for event in WeComEvent.objects.for_corp(world.corp).order_by("create_time"):
        assert dispatch_event(event.pk, corp_id=world.corp.pk) == WeComEvent.Status.DISPATCHED
    assert follow_of(world.corp, "wmWIRE", "x_a").state == "poster"
    stored = WeComEvent.objects.for_corp(world.corp).get(change_type="add_external_contact")
    assert stored.payload["WelcomeCode"] == "WELCOME-9"  # kept for the welcome message
    member_row = GroupMember.objects.for_corp(world.corp).get(group__chat_id="wrWIRE")
    assert member_row.customer.external_userid == "wmWIRE" and member_row.join_scene == 3


# ---------- out of order and twice ----------

def test_delete_then_older_add_leaves_the_relationship_deleted(world, wecom):
    deliver(world.corp, contact_event("del_follow_user", "x_a", "wmOOO", T0 + 200))
    deliver(world.corp, contact_event("add_external_contact", "x_a", "wmOOO", T0 + 100,
                                      State="s1"))
    follow = follow_of(world.corp, "wmOOO", "x_a")
    assert not follow.is_active and follow.deleted_at == at(200)
    # The history still shows both, in the order they happened.
    assert [e.kind for e in timeline(world.corp, "wmOOO") if e.kind.startswith("follow")] == [
        "follow_added", "follow_deleted"]
    assert follow.added_at == at(100) and follow.state == "s1"


def test_a_later_re_add_revives_the_relationship(world, wecom):
    wecom.set_contact("wmRE", "回头客", [follow_entry("x_a", state="s2", createtime=T0 + 300)])
    deliver(world.corp, contact_event("add_external_contact", "x_a", "wmRE", T0 + 100,
                                      State="s1"))
    deliver(world.corp, contact_event("del_follow_user", "x_a", "wmRE", T0 + 200))
    deliver(world.corp, contact_event("add_external_contact", "x_a", "wmRE", T0 + 300,
                                      State="s2"))
    follow = follow_of(world.corp, "wmRE", "x_a")
    assert follow.is_active and follow.added_at == at(300) and follow.state == "s2"
    assert len(timeline(world.corp, "wmRE", "follow_added")) == 2


def test_the_same_callback_twice_gives_one_timeline_entry(world, wecom):
    wecom.set_contact("wmDUP", "重复", [follow_entry("x_a", createtime=T0)])
    event = contact_event("add_external_contact", "x_a", "wmDUP", T0, State="s")
    deliver(world.corp, event)
    before = final_state(world.corp)
    deliver(world.corp, event)
    assert final_state(world.corp) == before
    assert len(timeline(world.corp, "wmDUP", "follow_added")) == 1


def assert_same_end_state(corp, events, *, setup=None, limit=None):
    """Applies ``events`` in every order (each order rolled back after) and asserts one
    final state; returns it."""
    first, first_order = None, None
    for order in orders(events, limit):
        with transaction.atomic():
            if setup:
                setup()
            for payload in order:
                deliver(corp, payload)
            state = final_state(corp)
            transaction.set_rollback(True)
        if first is None:
            first, first_order = state, order
            continue
        for key in first:
            assert state[key] == first[key], (
                f"{key} differs after {describe(order)} from after {describe(first_order)}")
    assert first is not None
    return first


def describe(order) -> str:
    return " → ".join(f"{p['ChangeType']}@{p['CreateTime'] - T0}" for p in order)


def test_contact_callbacks_in_every_order_end_the_same(world, wecom):
    wecom.tag_groups = [tag_group("etG", "等级", [("etA", "金卡", 1), ("etB", "银卡", 0)])]
    # WeCom after everything: x_a re-added the customer at 300 and edited at 350; x_b at 150.
    wecom.set_contact("wmPERM", "排列", [
        follow_entry("x_a", remark="甲的备注", state="s2", tags=["etA"], createtime=T0 + 300),
        follow_entry("x_b", tags=["etB"], createtime=T0 + 150)])
    events = [
        contact_event("add_external_contact", "x_a", "wmPERM", T0 + 100, State="s1"),
        contact_event("del_follow_user", "x_a", "wmPERM", T0 + 200),
        contact_event("add_external_contact", "x_a", "wmPERM", T0 + 300, State="s2"),
        contact_event("edit_external_contact", "x_a", "wmPERM", T0 + 350),
        contact_event("add_external_contact", "x_b", "wmPERM", T0 + 150),
    ]
    state = assert_same_end_state(world.corp, events)
    follows = {f[1]: f for f in state["follows"]}
    assert follows["x_a"][2:6] == (at(300), None, "", "s2")
    assert follows["x_b"][2:4] == (at(150), None)
    assert {t[1] for t in state["customer_tags"]} == {"金卡", "银卡"}
    kinds = [t[1] for t in state["timeline"]]
    assert kinds.count("follow_added") == 3 and kinds.count("follow_deleted") == 1
    assert kinds.count("follow_edited") == 1


def test_ended_relationship_in_every_order_ends_the_same(world, wecom):
    # WeCom after everything: x_a deleted the customer, so WeCom knows no relationship (84061).
    events = [
        contact_event("add_external_contact", "x_a", "wmEND", T0 + 100, State="s1"),
        contact_event("edit_external_contact", "x_a", "wmEND", T0 + 150),
        contact_event("del_external_contact", "x_a", "wmEND", T0 + 200),
        contact_event("add_external_contact", "x_a", "wmEND", T0 + 300, State="s2"),
        contact_event("del_follow_user", "x_a", "wmEND", T0 + 400),
    ]
    state = assert_same_end_state(world.corp, events)
    [follow] = [f for f in state["follows"] if f[0] == "wmEND"]
    assert follow[2:6] == (at(300), at(400), "customer", "s2")


def test_the_latest_add_owns_the_channel_state_even_when_it_has_none(world, wecom):
    events = [contact_event("add_external_contact", "x_a", "wmCH", T0 + 100, State="s1"),
              contact_event("del_external_contact", "x_a", "wmCH", T0 + 200),
              contact_event("add_external_contact", "x_a", "wmCH", T0 + 300)]
    state = assert_same_end_state(world.corp, events)
    [follow] = [f for f in state["follows"] if f[0] == "wmCH"]
    assert follow[2:6] == (at(300), None, "", "")


@pytest.mark.parametrize("listed", [True, False])
def test_add_and_delete_in_one_second_are_settled_by_what_wecom_lists(world, wecom, listed):
    # Re-added within the second of the delete (WeCom lists it), or deleted right after a
    # re-add (WeCom does not): CreateTime alone cannot tell which came last.
    if listed:
        wecom.set_contact("wmTIE", "同一秒", [follow_entry("x_a", createtime=T0 + 100)])
    events = [contact_event("add_external_contact", "x_a", "wmTIE", T0 + 90),
              contact_event("del_follow_user", "x_a", "wmTIE", T0 + 100),
              contact_event("add_external_contact", "x_a", "wmTIE", T0 + 100)]
    state = assert_same_end_state(world.corp, events)
    [follow] = [f for f in state["follows"] if f[0] == "wmTIE"]
    assert (follow[3] is None) == listed


def test_repeated_callbacks_in_shuffled_orders_end_the_same(world, wecom):
    wecom.set_contact("wmREP", "重复投递", [follow_entry("x_b", createtime=T0 + 30)])
    events = [
        contact_event("add_external_contact", "x_a", "wmREP", T0 + 10),
        contact_event("del_external_contact", "x_a", "wmREP", T0 + 20),
        contact_event("add_half_external_contact", "x_b", "wmREP", T0 + 30),
        contact_event("transfer_fail", "x_b", "wmREP", T0 + 40,
                      FailReason="customer_limit_exceed"),
    ]
    once = assert_same_end_state(world.corp, events, limit=1)
    rng = random.Random(3)
    for _ in range(15):
        delivered = events * 3
        rng.shuffle(delivered)
        with transaction.atomic():
            for payload in delivered:
                deliver(world.corp, payload)
            assert final_state(world.corp) == once
            transaction.set_rollback(True)


# ---------- change_external_chat ----------

def group_chat(chat_id, name, owner, members, notice="", create_time=T0):
    return {"chat_id": chat_id, "name": name, "owner": owner, "create_time": create_time,
            "notice": notice, "member_list": members, "admin_list": []}


def test_chat_create_records_group_owner_and_members(world, wecom):
    a1 = world.customers["A1"]
    wecom.chats["wrC1"] = group_chat("wrC1", "VIP 群", "x_a", [
        member("x_a", 1, T0), member(a1.external_userid, 2, T0, join_scene=3,
                                     invitor="x_a")], notice="每周三上新")
    deliver(world.corp, chat_event("create", "wrC1", T0))
    group = CustomerGroup.objects.for_corp(world.corp).get(chat_id="wrC1")
    assert (group.name, group.owner, group.notice, group.member_count, group.status) == (
        "VIP 群", world.employees["a"], "每周三上新", 2, "active")
    row = GroupMember.objects.for_corp(world.corp).get(group=group, userid=a1.external_userid)
    assert (row.member_type, row.customer, row.join_scene, row.invitor_userid) == (
        2, a1, 3, "x_a")
    [joined] = timeline(world.corp, a1.external_userid, "group_joined")
    assert joined.occurred_at == at(0) and "VIP 群" in joined.summary


def test_chat_update_add_and_del_member(world, wecom):
    a1, a2 = world.customers["A1"], world.customers["A2"]
    wecom.chats["wrC2"] = group_chat("wrC2", "群2", "x_a", [member("x_a", 1, T0)])
    deliver(world.corp, chat_event("create", "wrC2", T0))
    wecom.chats["wrC2"]["member_list"] += [member(a1.external_userid, 2, T0 + 10, join_scene=3),
                                           member(a2.external_userid, 2, T0 + 10, join_scene=3)]
    deliver(world.corp, chat_event("update", "wrC2", T0 + 10, UpdateDetail="add_member",
                                   JoinScene="3", MemChangeCnt="2",
                                   MemChangeList=[a1.external_userid, a2.external_userid]))
    group = CustomerGroup.objects.for_corp(world.corp).get(chat_id="wrC2")
    assert group.member_count == 3
    wecom.chats["wrC2"]["member_list"] = [member("x_a", 1, T0)]
    # Older clients send MemChangeList as one comma-separated string.
    deliver(world.corp, chat_event("update", "wrC2", T0 + 20, UpdateDetail="del_member",
                                   QuitScene="1", MemChangeCnt="2",
                                   MemChangeList=f"{a1.external_userid},{a2.external_userid}"))
    group.refresh_from_db()
    assert group.member_count == 1
    row = GroupMember.objects.for_corp(world.corp).get(group=group, userid=a1.external_userid)
    assert (row.quit_at, row.quit_scene) == (at(20), 1)
    [quit_entry] = timeline(world.corp, a1.external_userid, "group_quit")
    assert quit_entry.data["group"] == "群2" and quit_entry.data["scene"] == 1
    with translation.override("zh-hans"):
        assert quit_entry.display_summary == "被移出客户群 群2"
    kinds = list(GroupMemberEvent.objects.for_corp(world.corp).filter(
        group=group, userid=a2.external_userid).order_by("occurred_at")
        .values_list("kind", flat=True))
    assert kinds == ["joined", "quit"]


@pytest.mark.parametrize("detail,field,value", [
    ("change_owner", "owner", "x_b"), ("change_name", "name", "新名字"),
    ("change_notice", "notice", "新公告"),
])
def test_chat_update_owner_name_notice(world, wecom, detail, field, value):
    wecom.chats["wrC3"] = group_chat("wrC3", "旧名字", "x_a", [member("x_a", 1, T0)])
    deliver(world.corp, chat_event("create", "wrC3", T0))
    wecom.chats["wrC3"][field] = value
    deliver(world.corp, chat_event("update", "wrC3", T0 + 5, UpdateDetail=detail))
    group = CustomerGroup.objects.for_corp(world.corp).get(chat_id="wrC3")
    if field == "owner":
        assert (group.owner_userid, group.owner) == ("x_b", world.employees["b"])
    else:
        assert getattr(group, field) == value


def test_chat_dismiss_is_final(world, wecom):
    wecom.chats["wrC4"] = group_chat("wrC4", "解散群", "x_a", [member("x_a", 1, T0)])
    deliver(world.corp, chat_event("create", "wrC4", T0))
    deliver(world.corp, chat_event("dismiss", "wrC4", T0 + 90))
    deliver(world.corp, chat_event("update", "wrC4", T0 + 50, UpdateDetail="change_name"))
    group = CustomerGroup.objects.for_corp(world.corp).get(chat_id="wrC4")
    assert group.status == "dismissed" and group.dismissed_at == at(90)


def test_customer_added_later_is_linked_to_their_memberships(world, wecom):
    wecom.chats["wrC5"] = group_chat("wrC5", "群5", "x_a", [member("wmLATER", 2, T0)])
    deliver(world.corp, chat_event("create", "wrC5", T0))
    wecom.set_contact("wmLATER", "后来者", [follow_entry("x_a", createtime=T0 + 5)])
    deliver(world.corp, contact_event("add_external_contact", "x_a", "wmLATER", T0 + 5))
    row = GroupMember.objects.for_corp(world.corp).get(userid="wmLATER")
    assert row.customer.name == "后来者"


def test_chat_callbacks_in_every_order_end_the_same(world, wecom):
    a1 = world.customers["A1"].external_userid
    a2 = world.customers["A2"].external_userid
    # WeCom after everything: a1 joined at 100, left at 300 and came back at 400; a2 joined 200.
    wecom.chats["wrP"] = group_chat("wrP", "最终群名", "x_a", [
        member("x_a", 1, T0 + 100), member(a2, 2, T0 + 200, join_scene=3),
        member(a1, 2, T0 + 400, join_scene=1)])
    events = [
        chat_event("create", "wrP", T0 + 100),
        chat_event("update", "wrP", T0 + 200, UpdateDetail="add_member", JoinScene="3",
                   MemChangeList=[a2]),
        chat_event("update", "wrP", T0 + 300, UpdateDetail="del_member", QuitScene="0",
                   MemChangeList=[a1]),
        chat_event("update", "wrP", T0 + 400, UpdateDetail="add_member", JoinScene="0",
                   MemChangeList=[a1]),
        chat_event("update", "wrP", T0 + 450, UpdateDetail="change_name"),
    ]
    wecom.chats["wrP"]["member_list"][2]["join_time"] = T0 + 400
    state = assert_same_end_state(world.corp, events)
    [group] = state["groups"]
    assert group[1] == "最终群名" and group[7] == 3
    rows = {m[1]: m for m in state["members"]}
    assert rows[a1][3:5] == (at(400), None)
    history = [(h[1], h[2], h[3]) for h in state["member_history"] if h[1] in (a1, a2)]
    # a1's first join came with the group's creation, which WeCom's later answer no longer
    # shows; everything after it has its own callback.
    assert sorted(history, key=lambda h: h[2]) == [
        (a2, "joined", at(200)), (a1, "quit", at(300)), (a1, "joined", at(400))]


def test_quit_before_its_join_arrives_leaves_the_member_out(world, wecom):
    wecom.chats["wrQ"] = group_chat("wrQ", "群Q", "x_a", [member("x_a", 1, T0)])
    events = [
        chat_event("update", "wrQ", T0 + 10, UpdateDetail="add_member", JoinScene="3",
                   MemChangeList=["wmQ"]),
        chat_event("update", "wrQ", T0 + 20, UpdateDetail="del_member", QuitScene="0",
                   MemChangeList=["wmQ"]),
    ]
    state = assert_same_end_state(world.corp, events + events)
    rows = {m[1]: m for m in state["members"]}
    assert rows["wmQ"][4] == at(20) and state["groups"][0][7] == 1


@pytest.mark.parametrize("listed", [True, False])
def test_join_and_quit_in_one_second_are_settled_by_the_member_list(world, wecom, listed):
    members = [member("x_a", 1, T0)] + ([member("wmJQ", 2, T0 + 10)] if listed else [])
    wecom.chats["wrJQ"] = group_chat("wrJQ", "同秒群", "x_a", members)
    events = [
        chat_event("update", "wrJQ", T0 + 5, UpdateDetail="add_member", JoinScene="3",
                   MemChangeList=["wmJQ"]),
        chat_event("update", "wrJQ", T0 + 10, UpdateDetail="del_member", QuitScene="0",
                   MemChangeList=["wmJQ"]),
        chat_event("update", "wrJQ", T0 + 10, UpdateDetail="add_member", JoinScene="0",
                   MemChangeList=["wmJQ"]),
    ]
    state = assert_same_end_state(world.corp, events)
    rows = {m[1]: m for m in state["members"]}
    assert (rows["wmJQ"][4] is None) == listed


# ---------- change_external_tag ----------

def local_tags(corp) -> dict:
    return {t.wecom_tag_id: (t.group.name, t.name, t.order)
            for t in Tag.objects.for_corp(corp).select_related("group").exclude(wecom_tag_id="")}


def test_tag_create_and_update_read_the_tag_from_wecom(world, wecom):
    wecom.tag_groups = [tag_group("etG1", "兴趣", [("etT1", "茶", 3)], order=9)]
    deliver(world.corp, tag_event("create", "etT1", T0))
    assert local_tags(world.corp) == {"etT1": ("兴趣", "茶", -3)}
    assert TagGroup.objects.for_corp(world.corp).get(wecom_group_id="etG1").order == -9
    wecom.tag_groups[0]["tag"][0]["name"] = "红茶"
    deliver(world.corp, tag_event("update", "etT1", T0 + 1))
    assert local_tags(world.corp) == {"etT1": ("兴趣", "红茶", -3)}


def test_tag_group_create_links_a_same_named_group_made_in_siyu(world, wecom):
    wecom.tag_groups = [tag_group("etLV", "客户等级", [("etVIP", "VIP", 0), ("etN", "普通", 0)])]
    deliver(world.corp, tag_event("create", "etLV", T0, tag_type="tag_group"))
    assert world.tags["vip"].group.__class__.objects.for_corp(world.corp).get(
        name="客户等级").wecom_group_id == "etLV"
    world.tags["vip"].refresh_from_db()
    assert world.tags["vip"].wecom_tag_id == "etVIP"
    assert local_tags(world.corp)["etN"] == ("客户等级", "普通", 0)


def test_tag_group_update_drops_tags_wecom_no_longer_lists(world, wecom):
    wecom.tag_groups = [tag_group("etG", "组", [("etX", "甲", 0), ("etY", "乙", 0)])]
    deliver(world.corp, tag_event("create", "etG", T0, tag_type="tag_group"))
    local_only = TagFactory(corp=world.corp, group=TagGroup.objects.for_corp(world.corp).get(
        wecom_group_id="etG"), name="本地")
    wecom.tag_groups = [tag_group("etG", "组改名", [("etX", "甲", 0)])]
    deliver(world.corp, tag_event("update", "etG", T0 + 1, tag_type="tag_group"))
    assert local_tags(world.corp) == {"etX": ("组改名", "甲", 0)}
    assert Tag.objects.for_corp(world.corp).filter(pk=local_only.pk).exists()


def test_tag_delete_removes_the_tag_and_its_customer_links_with_audit(world, wecom):
    wecom.tag_groups = [tag_group("etG", "组", [("etD", "待删", 0), ("etK", "保留", 0)])]
    deliver(world.corp, tag_event("create", "etG", T0, tag_type="tag_group"))
    tag = Tag.objects.for_corp(world.corp).get(wecom_tag_id="etD")
    CustomerTagFactory(corp=world.corp, customer=world.customers["A1"], tag=tag)
    deliver(world.corp, tag_event("delete", "etD", T0 + 1))
    deliver(world.corp, tag_event("delete", "etD", T0 + 1))  # again: nothing more happens
    assert "etD" not in local_tags(world.corp)
    assert not CustomerTag.objects.for_corp(world.corp).filter(tag_id=tag.pk).exists()
    [audit] = AuditLog.objects.for_corp(world.corp).filter(action="tag.delete")
    assert audit.changes["customers"] == [1, 0] and audit.changes["name"] == ["待删", None]


def test_deleting_the_last_tag_removes_the_group_as_wecom_does(world, wecom):
    wecom.tag_groups = [tag_group("etG", "单标签组", [("etOnly", "唯一", 0)])]
    deliver(world.corp, tag_event("create", "etOnly", T0))
    deliver(world.corp, tag_event("delete", "etOnly", T0 + 1))
    assert not TagGroup.objects.for_corp(world.corp).filter(wecom_group_id="etG").exists()


def test_tag_group_delete(world, wecom):
    wecom.tag_groups = [tag_group("etG", "整组删除", [("etA", "一", 0), ("etB", "二", 0)])]
    deliver(world.corp, tag_event("create", "etG", T0, tag_type="tag_group"))
    deliver(world.corp, tag_event("delete", "etG", T0 + 1, tag_type="tag_group"))
    assert local_tags(world.corp) == {}
    assert AuditLog.objects.for_corp(world.corp).filter(action="tag_group.delete").exists()


def test_shuffle_reorders_one_group_or_all(world, wecom):
    wecom.tag_groups = [tag_group("etG", "组", [("etA", "一", 1), ("etB", "二", 2)], order=1),
                        tag_group("etH", "组二", [("etC", "三", 0)], order=2)]
    deliver(world.corp, tag_event("create", "etG", T0, tag_type="tag_group"))
    deliver(world.corp, tag_event("create", "etH", T0, tag_type="tag_group"))
    wecom.tag_groups[0]["tag"][0]["order"] = 7
    deliver(world.corp, tag_event("shuffle", "etG", T0 + 1, tag_type="tag_group"))
    assert local_tags(world.corp)["etA"][2] == -7
    wecom.tag_groups[1]["order"] = 5
    wecom.tag_groups.pop(0)  # and group etG is gone in WeCom
    deliver(world.corp, tag_event("shuffle", "", T0 + 2, tag_type="tag_group"))
    assert TagGroup.objects.for_corp(world.corp).get(wecom_group_id="etH").order == -5
    assert not TagGroup.objects.for_corp(world.corp).filter(wecom_group_id="etG").exists()


def test_tag_callbacks_in_every_order_end_the_same(world, wecom):
    def setup():
        group = TagGroup.objects.create(corp=world.corp, name="组", wecom_group_id="etG")
        Tag.objects.create(corp=world.corp, group=group, name="将删", wecom_tag_id="etGone")
        Tag.objects.create(corp=world.corp, group=group, name="旧名", wecom_tag_id="etRen")

    # WeCom after everything: etRen renamed, etNew created, etGone deleted, group etH created.
    wecom.tag_groups = [tag_group("etG", "组", [("etRen", "新名", 0), ("etNew", "新建", 1)]),
                        tag_group("etH", "新组", [("etH1", "甲", 0)])]
    events = [tag_event("update", "etRen", T0 + 1), tag_event("create", "etNew", T0 + 2),
              tag_event("delete", "etGone", T0 + 3),
              tag_event("create", "etH", T0 + 4, tag_type="tag_group")]
    state = assert_same_end_state(world.corp, events, setup=setup)
    assert {t[0]: t[2] for t in state["tags"] if t[0]} == {
        "etRen": "新名", "etNew": "新建", "etH1": "甲"}
