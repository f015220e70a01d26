"""Group live codes in motion, against the WeCom simulator: customers scan the join way, the
simulator's change_external_chat callbacks go through Siyu's real handlers, and the code moves
on when a group reaches the member limit, comes back when one has room again, takes up the
groups WeCom creates (auto_create_room), and counts the joins it brought per group."""

from datetime import timedelta

import pytest
from django.utils import timezone

from siyu.accounts.tests.factories import UserFactory
from siyu.acquisition.group_codes.selectors import group_code_fill
from siyu.acquisition.group_codes.services import (
    group_code_advance,
    group_code_create,
    group_codes_reconcile,
)
from siyu.acquisition.models import GroupCode
from siyu.core.models import AuditLog
from siyu.groups.models import CustomerGroup
from siyu.wecom.events import parse_event
from siyu.wecom.simulator.testing import SimulatorError, running_simulator
from siyu.wecom.tests.handler_helpers import deliver
from tests.fixtures import corp_on_simulator


@pytest.fixture
def sim():
    with running_simulator(seed=13, employees=2, customers=0, groups=0) as running:
        yield running


@pytest.fixture
def corp(db, sim, settings):
    return corp_on_simulator(sim, settings)


@pytest.fixture
def admin(corp):
    return UserFactory(corp=corp, role="admin")


class Callbacks:
    """Delivers the simulator's callbacks to Siyu's handlers, each once, in the order sent."""

    def __init__(self, corp, sim):
        self.corp, self.sim, self.seen = corp, sim, set()

    def deliver(self) -> int:
        records = sorted(self.sim.control.callbacks(xml=True, limit=500), key=lambda r: r["id"])
        fresh = [r for r in records if r["id"] not in self.seen]
        for record in fresh:
            self.seen.add(record["id"])
            deliver(self.corp, parse_event(record["xml"]))
        return len(fresh)


@pytest.fixture
def callbacks(corp, sim):
    return Callbacks(corp, sim)


@pytest.fixture
def groups(corp, sim, callbacks):
    """Three groups created in WeCom (owner only), known to Siyu from their create events."""
    chat_ids = [sim.control.create_group(name=f"粉丝群{n}")["chat_id"] for n in range(3)]
    callbacks.deliver()
    found = {g.chat_id: g for g in CustomerGroup.objects.for_corp(corp)}
    return [found[c] for c in chat_ids]


def way_chats(sim, code) -> list[str]:
    [way] = [w for w in sim.control.contact_ways()["join_ways"]
             if w["config_id"] == code.wecom_config_id]
    return way["chat_id_list"]


def scan(sim, callbacks, code, **options) -> dict:
    result = sim.control.action("scan_join_way", config_id=code.wecom_config_id, **options)
    callbacks.deliver()
    return result


def test_moves_on_when_a_group_is_full_and_back_when_it_has_room(corp, admin, groups, sim,
                                                                 callbacks):
    code = group_code_create(corp=corp, actor=admin, name="Fans",
                             group_ids=[g.pk for g in groups], member_limit=3)
    assert way_chats(sim, code) == [g.chat_id for g in groups]

    first = scan(sim, callbacks, code)
    assert first["chat_id"] == groups[0].chat_id
    second = scan(sim, callbacks, code)
    assert second["chat_id"] == groups[0].chat_id
    groups[0].refresh_from_db()
    assert groups[0].member_count == 3  # the owner and two customers: the limit
    assert way_chats(sim, code) == [groups[1].chat_id, groups[2].chat_id]

    third = scan(sim, callbacks, code)
    assert third["chat_id"] == groups[1].chat_id

    sim.control.quit_group(groups[0].chat_id, first["external_userid"])
    callbacks.deliver()
    assert way_chats(sim, code) == [g.chat_id for g in groups]

    fills = {f.group.pk: f for f in group_code_fill(admin, code)}
    assert (fills[groups[0].pk].joined, fills[groups[0].pk].present) == (2, 1)
    assert (fills[groups[1].pk].joined, fills[groups[1].pk].present) == (1, 1)
    assert fills[groups[2].pk].joined == 0
    assert [f.listed for f in group_code_fill(admin, code)] == [True, True, True]


def test_every_group_full_keeps_the_last_one(corp, admin, groups, sim, callbacks):
    code = group_code_create(corp=corp, actor=admin, name="Fans",
                             group_ids=[groups[0].pk, groups[1].pk], member_limit=2)
    scan(sim, callbacks, code)
    assert way_chats(sim, code) == [groups[1].chat_id]
    scan(sim, callbacks, code)
    # Both at the limit and no auto-create: WeCom still needs a group; the last one takes
    # the overflow.
    assert way_chats(sim, code) == [groups[1].chat_id]
    assert scan(sim, callbacks, code)["chat_id"] == groups[1].chat_id


def test_auto_created_groups_join_the_code(corp, admin, groups, sim, callbacks):
    sim.control.configure(group_max_members=2)  # WeCom's own capacity, to make it create
    code = group_code_create(corp=corp, actor=admin, name="Live", group_ids=[groups[0].pk],
                             member_limit=2, auto_create_room=True, room_base_name="直播群",
                             room_base_id=5)
    first = scan(sim, callbacks, code)
    assert first["chat_id"] == groups[0].chat_id and not first["created"]

    second = scan(sim, callbacks, code)
    assert second["created"]
    created = CustomerGroup.objects.for_corp(corp).get(chat_id=second["chat_id"])
    assert created.name == "直播群5" and created.member_count == 2
    assert list(code.entries.values_list("group__chat_id", flat=True)) == [
        groups[0].chat_id, created.chat_id]
    assert AuditLog.objects.for_corp(corp).filter(action="group_code.group_created").count() == 1

    third = scan(sim, callbacks, code)
    assert third["created"]
    assert CustomerGroup.objects.for_corp(corp).get(chat_id=third["chat_id"]).name == "直播群6"
    assert code.entries.count() == 3
    assert way_chats(sim, code) == [third["chat_id"]]
    joined = {f.group.chat_id: f.joined for f in group_code_fill(admin, code)}
    assert joined == {groups[0].chat_id: 1, second["chat_id"]: 1, third["chat_id"]: 1}


def test_without_auto_create_wecom_refuses_a_full_join_way(corp, admin, groups, sim, callbacks):
    sim.control.configure(group_max_members=2)
    code = group_code_create(corp=corp, actor=admin, name="Fans", group_ids=[groups[0].pk],
                             member_limit=2)
    scan(sim, callbacks, code)
    with pytest.raises(SimulatorError, match="full"):
        scan(sim, callbacks, code)


def test_groups_of_other_codes_and_strangers_do_not_attach(corp, admin, groups, sim,
                                                           callbacks):
    code = group_code_create(corp=corp, actor=admin, name="Fans", group_ids=[groups[0].pk],
                             auto_create_room=True, room_base_name="群")
    other = group_code_create(corp=corp, actor=admin, name="Other", group_ids=[groups[1].pk],
                              auto_create_room=True, room_base_name="别的")
    joined = scan(sim, callbacks, other)
    sim.control.join_group(groups[2].chat_id, joined["external_userid"])  # not via a code
    sim.control.create_group(name="别的群")
    callbacks.deliver()
    assert list(code.entries.values_list("group_id", flat=True)) == [groups[0].pk]
    assert list(other.entries.values_list("group_id", flat=True)) == [groups[1].pk]


def test_a_refused_push_does_not_break_the_callback(corp, admin, groups, sim, callbacks):
    code = group_code_create(corp=corp, actor=admin, name="Fans",
                             group_ids=[groups[0].pk, groups[1].pk], member_limit=2)
    scan(sim, callbacks, code)  # group 0 full: the list becomes [group 1]
    sim.control.quit_group(groups[0].chat_id, sim.simulator.state.chats[
        groups[0].chat_id]["member_list"][-1]["userid"])
    sim.control.inject_faults("externalcontact/groupchat/update_join_way", errcode=40058)
    callbacks.deliver()  # the push is refused; the membership change is applied anyway
    groups[0].refresh_from_db()
    assert groups[0].member_count == 1
    assert way_chats(sim, code) == [groups[1].chat_id]
    # The periodic reconcile repairs it.
    assert group_codes_reconcile() == 1
    assert way_chats(sim, code) == [groups[0].chat_id, groups[1].chat_id]


def test_advance_pushes_only_when_the_list_changes(corp, admin, groups, sim):
    code = group_code_create(corp=corp, actor=admin, name="Fans",
                             group_ids=[g.pk for g in groups], member_limit=3)
    assert group_code_advance(group_code=code) is None
    CustomerGroup.objects.for_corp(corp).filter(pk=groups[2].pk).update(member_count=3)
    assert group_code_advance(group_code=code) == [groups[0].chat_id, groups[1].chat_id]
    assert way_chats(sim, code) == [groups[0].chat_id, groups[1].chat_id]


def test_dismissed_group_leaves_the_list(corp, admin, groups, sim, callbacks):
    code = group_code_create(corp=corp, actor=admin, name="Fans",
                             group_ids=[g.pk for g in groups])
    sim.control.dismiss_group(groups[0].chat_id)
    callbacks.deliver()
    assert way_chats(sim, code) == [groups[1].chat_id, groups[2].chat_id]


def test_expired_codes_are_disabled_by_the_reconcile(corp, admin, groups, sim):
    code = group_code_create(corp=corp, actor=admin, name="Fans", group_ids=[groups[0].pk],
                             expires_at=timezone.now() + timedelta(hours=1))
    assert group_codes_reconcile() == 0
    assert group_codes_reconcile(now=timezone.now() + timedelta(hours=2)) == 1
    assert GroupCode.objects.for_corp(corp).get(pk=code.pk).status == "disabled"
    assert sim.control.contact_ways()["join_ways"] == []
    assert AuditLog.objects.for_corp(corp).filter(action="group_code.expire").count() == 1


def test_simulator_finds_the_join_way_by_state_and_opens_a_group_already_joined(
        corp, admin, groups, sim, callbacks):
    code = group_code_create(corp=corp, actor=admin, name="Fans", group_ids=[groups[0].pk])
    joined = sim.control.action("scan_join_way", state=code.state)
    assert joined["chat_id"] == groups[0].chat_id and joined["state"] == code.state
    again = sim.control.action("scan_join_way", state=code.state,
                               external_userid=joined["external_userid"])
    assert again["already_member"] and again["chat_id"] == groups[0].chat_id
    with pytest.raises(SimulatorError, match="No join way"):
        sim.control.action("scan_join_way", state="gc_unknown")
