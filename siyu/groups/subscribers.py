"""How the groups app applies WeCom's change_external_chat events, and links members to
customers created later (registered in GroupsConfig.ready).

create and update re-read the group (groupchat/get) and apply it; add_member / del_member also
record who joined or left at the callback's CreateTime. dismiss needs no read: the group is
gone in WeCom. The group services decide by time what a late callback may still change. Each
change is published as ``group_changed`` (group live codes move on when a group fills), and
joins and quits as ``group_joined`` / ``group_left``.
"""

from django.db import transaction

from siyu.accounts.models import Corp
from siyu.core.events import publish, subscribe
from siyu.customers.events import CustomerCreated
from siyu.customers.models import Customer
from siyu.groups.events import GroupChanged, GroupJoined, GroupLeft
from siyu.groups.services import (
    group_dismiss,
    group_ensure,
    group_members_joined,
    group_members_link_customer,
    group_members_quit,
    group_upsert_from_wecom,
)
from siyu.wecom import reads
from siyu.wecom.callback_events import ChatChanged


def _read(corp, event: ChatChanged, *, members: bool):
    chat = reads.group_chat(corp, event.chat_id)
    if chat is None:
        return group_ensure(corp=corp, chat_id=event.chat_id), None
    return group_upsert_from_wecom(corp=corp, chat=chat, event_time=event.create_time,
                                   members=members), chat


def _update(corp, event: ChatChanged):
    # Name and owner first, so the joins and quits below are recorded under them.
    group, chat = _read(corp, event, members=False)
    when, members = event.create_time, list(event.members)
    if event.detail == "add_member":
        group_members_joined(corp=corp, group=group, userids=members, event_time=when,
                             join_scene=event.join_scene or None, chat=chat)
        publish(GroupJoined(corp_id=corp.pk, group_id=group.pk, userids=event.members,
                            at=when))
    elif event.detail == "del_member":
        group_members_quit(corp=corp, group=group, userids=members, event_time=when,
                           quit_scene=event.quit_scene or None, chat=chat)
        publish(GroupLeft(corp_id=corp.pk, group_id=group.pk, userids=event.members,
                          at=when))
    if chat is not None:
        group_upsert_from_wecom(corp=corp, chat=chat, event_time=when)
    return group


@subscribe(ChatChanged)
def on_chat_changed(event: ChatChanged) -> None:
    corp = Corp.objects.get(pk=event.corp_id)
    if event.change == "dismiss":
        group = group_dismiss(corp=corp, chat_id=event.chat_id, event_time=event.create_time)
    elif event.change == "create":
        group, _chat = _read(corp, event, members=True)
    else:
        group = _update(corp, event)
    with transaction.atomic():
        publish(GroupChanged(corp_id=corp.pk, group_id=group.pk, change=event.change))


@subscribe(CustomerCreated)
def link_members_to_new_customer(event: CustomerCreated) -> None:
    """Group members seen before their customer existed are linked to it: a job that runs
    after the customer's commit, so a join handled at the same moment is seen by one side."""
    customer = Customer.objects.for_corp(event.corp_id).filter(pk=event.customer_id).first()
    if customer is not None:
        group_members_link_customer(corp=customer.corp, customer=customer)
