"""How the customers app applies WeCom's contact events (registered in CustomersConfig.ready).

Each subscriber reads WeCom's current view of the customer (externalcontact/get) and hands it,
with the callback's CreateTime, to the reconciliation services, which decide by time what the
callback may still change. An add is then published as ``customer_added`` for whatever else
reacts to it (attribution, SOP, …): the customers app neither knows nor calls them. The
welcome message is not sent from here: the welcome lane took the add straight from the stored
callback, within WeCom's 20 s.
"""

from django.db import transaction

from siyu.accounts.models import Corp
from siyu.core.events import publish, subscribe
from siyu.customers.channels import channel_name
from siyu.customers.events import (
    CustomerAdded,
    CustomerDeletedEmployee,
    EmployeeDeletedCustomer,
)
from siyu.customers.models import FollowRelation
from siyu.customers.reconcile import (
    customer_transfer_failed,
    customer_upsert_from_wecom,
    employee_for_wecom_userid,
    follow_end_from_wecom,
    wecom_datetime,
)
from siyu.tags.services import corp_tags_apply, wecom_tag_ids_unknown
from siyu.wecom import reads
from siyu.wecom.callback_events import (
    ContactAdded,
    ContactDeleted,
    ContactEdited,
    ContactTransferFailed,
)


def _corp(event) -> Corp:
    return Corp.objects.get(pk=event.corp_id)


def _known_tags(corp, follow: dict) -> None:
    """Brings in corp tags WeCom reports on the relationship but Siyu has not seen yet."""
    ids = [str(t["tag_id"]) for t in follow.get("tags") or []
           if t.get("tag_id") and t.get("type", 1) == 1]
    unknown = wecom_tag_ids_unknown(corp=corp, wecom_tag_ids=ids)
    if unknown:
        corp_tags_apply(corp=corp, tag_groups=reads.corp_tag_groups(corp, tag_id=unknown),
                        whole_groups=False)


def _reported(event, change: str):
    corp = _corp(event)
    contact, follows = reads.customer_view(corp, event.external_userid)
    follow = next((f for f in follows if f.get("userid") == event.userid), None)
    if follow is not None:
        _known_tags(corp, follow)
    state = getattr(event, "state", "")
    customer, relation = customer_upsert_from_wecom(
        corp=corp, contact=contact, follow=follow, userid=event.userid, change=change,
        event_time=event.create_time, event_state=state,
        channel_name=channel_name(corp, state) if change != "edit" else "")
    return corp, customer, relation


@subscribe(ContactAdded)
def on_contact_added(event: ContactAdded) -> None:
    _corp_obj, customer, relation = _reported(event, "add_half" if event.half else "add")
    if relation is None:
        return
    with transaction.atomic():
        publish(CustomerAdded(
            corp_id=event.corp_id, customer_id=customer.pk, employee_id=relation.employee_id,
            added_at=wecom_datetime(event.create_time).isoformat(), state=event.state,
            event_key=event.event_key, half=event.half))


@subscribe(ContactEdited)
def on_contact_edited(event: ContactEdited) -> None:
    _reported(event, "edit")


def _customer(event):
    """(corp, customer, employee, whether WeCom still lists their relationship)."""
    corp = _corp(event)
    contact, follows = reads.customer_view(corp, event.external_userid)
    customer, _none = customer_upsert_from_wecom(corp=corp, contact=contact)
    listed = any(f.get("userid") == event.userid for f in follows)
    return corp, customer, employee_for_wecom_userid(corp=corp, userid=event.userid), listed


@subscribe(ContactDeleted)
def on_contact_deleted(event: ContactDeleted) -> None:
    corp, customer, employee, listed = _customer(event)
    deleted_by = (FollowRelation.DeletedBy.CUSTOMER if event.by_customer
                  else FollowRelation.DeletedBy.EMPLOYEE)
    with transaction.atomic():
        follow_end_from_wecom(corp=corp, customer=customer, employee=employee,
                              deleted_by=deleted_by, event_time=event.create_time,
                              source=event.source, still_listed=listed)
        kind = CustomerDeletedEmployee if event.by_customer else EmployeeDeletedCustomer
        publish(kind(corp_id=corp.pk, customer_id=customer.pk, employee_id=employee.pk,
                     deleted_at=wecom_datetime(event.create_time).isoformat()))


@subscribe(ContactTransferFailed)
def on_contact_transfer_failed(event: ContactTransferFailed) -> None:
    """A transfer to UserID did not happen (customer_refused, customer_limit_exceed)."""
    corp, customer, employee, _listed = _customer(event)
    customer_transfer_failed(corp=corp, customer=customer, employee=employee,
                             reason=event.reason, event_time=event.create_time)
