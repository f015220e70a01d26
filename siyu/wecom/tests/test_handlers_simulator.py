"""The handlers against the WeCom simulator: real callback XML (both MemChangeList formats) and
real API answers through the real client, applied in the order sent and in reverse."""

import pytest
from django.db import transaction

from siyu.accounts.tests.factories import CorpFactory
from siyu.customers.models import Customer, FollowRelation
from siyu.groups.models import CustomerGroup, GroupMemberEvent
from siyu.tags.models import Tag
from siyu.wecom.events import parse_event
from siyu.wecom.simulator.testing import running_simulator
from siyu.wecom.tests.handler_helpers import deliver, final_state

# Entries written at "now" (not at a callback's CreateTime) differ between two replays.
TIMED_BY_NOW = {"created", "tagged", "untagged"}


def comparable(state: dict) -> dict:
    state = dict(state)
    state["timeline"] = sorted(
        (ext, kind, None if kind in TIMED_BY_NOW else when, userid, summary)
        for ext, kind, when, userid, summary in state["timeline"])
    return state


def replay(corp, payloads) -> dict:
    with transaction.atomic():
        for payload in payloads:
            deliver(corp, payload)
        state = final_state(corp)
        transaction.set_rollback(True)
    return comparable(state)


@pytest.fixture
def sim():
    with running_simulator(seed=11, employees=6, customers=12, groups=3) as running:
        yield running


def test_simulated_actions_apply_the_same_in_order_and_reversed(db, sim):
    corp = CorpFactory(corp_id=sim.config.corp_id, contact_secret=sim.config.contact_secret,
                       api_base_url=sim.base_url)
    control = sim.control
    first = control.add_customer("emp001", state="poster")
    ext = first.external_userid
    control.add_customer("emp002", external_userid=ext, state="expo")
    tag_id = next(iter(sim.simulator.state.tags))
    control.edit_customer("emp002", ext, remark="老王", add_tags=[tag_id])
    chat_id = next(iter(sim.simulator.state.chats))
    control.join_group(chat_id, [ext], member_format="csv")
    control.quit_group(chat_id, ext, quit_scene=1, member_format="items")
    control.customer_deletes_employee("emp001", ext)
    control.edit_tags(op="create")
    control.dismiss_group(chat_id)
    records = sorted(control.callbacks(xml=True, limit=500), key=lambda r: r["id"])
    payloads = [parse_event(record["xml"]) for record in records]
    assert len(payloads) == 8

    in_order = replay(corp, payloads)
    assert replay(corp, list(reversed(payloads))) == in_order
    assert replay(corp, payloads + payloads[::2]) == in_order  # some delivered twice

    for payload in payloads:
        deliver(corp, payload)
    customer = Customer.objects.for_corp(corp).get(external_userid=ext)
    assert customer.name == sim.simulator.state.customers[ext]["name"]
    follows = {f.employee.userid: f for f in
               FollowRelation.objects.for_corp(corp).filter(customer=customer)
               .select_related("employee")}
    assert follows["emp001"].deleted_by == "customer"
    assert follows["emp002"].is_active and follows["emp002"].remark == "老王"
    assert follows["emp002"].state == "expo"
    assert customer.tag_links.filter(tag__wecom_tag_id=tag_id).exists()
    group = CustomerGroup.objects.for_corp(corp).get(chat_id=chat_id)
    assert group.status == "dismissed"
    assert list(GroupMemberEvent.objects.for_corp(corp).filter(group=group, userid=ext)
                .order_by("occurred_at", "kind").values_list("kind", "scene")) == [
        ("joined", 3), ("quit", 1)]
    new_tag_id = payloads[6]["Id"]
    assert Tag.objects.for_corp(corp).filter(wecom_tag_id=new_tag_id).exists()
