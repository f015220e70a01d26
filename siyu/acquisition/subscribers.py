"""What acquisition does when customers are added and groups change (registered by
siyu.core's autodiscovery of ``subscribers`` modules).

* ``customer_added`` through a channel live code's state: the attribution row, the code's tags,
  its daily count and round-robin turn (siyu.acquisition.attribution).
* ``group_changed``: group live codes over that group move on when it fills, or back when it
  has room; a group auto-created for a code joins it.
* The customers app names a live code's state in the timeline, and the welcome lane sends the
  code's own welcome, through the namer and the welcome source registered here.
"""

from datetime import UTC, datetime

from siyu.accounts.models import Corp, Employee
from siyu.acquisition.group_codes.services import group_codes_for_group_changed
from siyu.acquisition.live_codes.attribution import (
    STATE_PREFIX,
    live_code_add_record,
    live_code_for_state,
    live_code_welcome,
    live_codes_by_state,
)
from siyu.core.events import ATOMIC, subscribe
from siyu.customers.channels import register_channel_namer
from siyu.customers.events import CustomerAdded
from siyu.customers.models import Customer
from siyu.engagement.welcome_sources import register_welcome_source
from siyu.groups.events import GroupChanged
from siyu.groups.models import CustomerGroup


def _through_live_code(event: CustomerAdded) -> bool:
    # The welcome and the attribution of a half add wait for the member to accept.
    return event.state.startswith(STATE_PREFIX) and bool(event.event_key) and not event.half


@subscribe(CustomerAdded, mode=ATOMIC, when=_through_live_code)
def attribute_to_live_code(event: CustomerAdded) -> None:
    corp = Corp.objects.get(pk=event.corp_id)
    live_code = live_code_for_state(corp, event.state)
    customer = Customer.objects.for_corp(corp).filter(pk=event.customer_id).first()
    if live_code is None or customer is None:
        return
    employee = Employee.objects.for_corp(corp).filter(pk=event.employee_id).first()
    live_code_add_record(corp=corp, live_code=live_code, event_key=event.event_key,
                         customer=customer, employee=employee,
                         added_at=datetime.fromisoformat(event.added_at))


@subscribe(GroupChanged)
def move_group_codes_on(event: GroupChanged) -> None:
    group = CustomerGroup.objects.for_corp(event.corp_id).select_related("corp").filter(
        pk=event.group_id).first()
    if group is not None:
        group_codes_for_group_changed(corp=group.corp, group=group)


def _live_code_name(corp, state: str) -> str:
    live_code = live_code_for_state(corp, state)
    return live_code.name if live_code else ""


def _live_code_welcomes(corp, adds) -> dict:
    """dedupe key → the live code's own welcome, for adds through an active code that has one."""
    codes = live_codes_by_state(corp, {a.state for a in adds})
    welcomes = {}
    for add in adds:
        if add.state in codes:
            welcome = live_code_welcome(codes[add.state],
                                        at=datetime.fromtimestamp(add.create_time, UTC))
            if welcome is not None:
                welcomes[add.event_key] = welcome
    return welcomes


register_channel_namer(_live_code_name)
register_welcome_source(_live_code_welcomes)
