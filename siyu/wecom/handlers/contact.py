"""change_external_contact: customers and their relationships with employees.

Each handler reads WeCom's current view of the customer (externalcontact/get) and hands it,
with the callback's CreateTime, to the customer services, which decide by time what the
callback may still change (see customers.services). An add's welcome message usually went
out already: WeCom accepts its WelcomeCode for 20 seconds only, so the welcome lane
(siyu.wecom.welcome_lane) sends it in a batch before the add waits in line here, and keeps what
it read from WeCom on the event (``event.carry``), which this handler uses. When the lane did
not get to it, the handler sends it itself: welcome_send sends once per event either way.
"""

from siyu.acquisition.live_codes.attribution import (
    live_code_add_record,
    live_code_for_state,
    live_code_welcome,
)
from siyu.customers.models import FollowRelation
from siyu.customers.reconcile import (
    customer_transfer_failed,
    customer_upsert_from_wecom,
    employee_for_wecom_userid,
    follow_end_from_wecom,
    wecom_datetime,
)
from siyu.engagement.services import welcome_send
from siyu.groups.services import group_members_link_customer
from siyu.tags.services import corp_tags_apply, wecom_tag_ids_unknown
from siyu.wecom.dispatch import handles
from siyu.wecom.handlers import common

EVENT = "change_external_contact"


def _wecom_view(corp, external_userid: str) -> tuple[dict, list]:
    """(external_contact, follow_user) as WeCom reports them now; just the id when WeCom no
    longer has any relationship with this customer."""
    client = common.client(corp)
    answer = common.fetch(client.get_external_contact, external_userid,
                          gone=common.CONTACT_GONE)
    return common.contact_view(answer, external_userid)


def _known_tags(corp, follow: dict) -> None:
    """Brings in corp tags WeCom reports on the relationship but Siyu has not seen yet."""
    ids = [str(t["tag_id"]) for t in follow.get("tags") or []
           if t.get("tag_id") and t.get("type", 1) == 1]
    unknown = wecom_tag_ids_unknown(corp=corp, wecom_tag_ids=ids)
    if not unknown:
        return
    answer = common.fetch(common.client(corp).get_corp_tag_list, tag_id=unknown,
                          gone=common.TAG_GONE)
    if answer:
        corp_tags_apply(corp=corp, tag_groups=answer.get("tag_group") or [],
                        whole_groups=False)


def _view_for(corp, external_userid: str, event=None) -> tuple[dict, list]:
    """What the welcome lane read for this add, else WeCom's view now."""
    carry = getattr(event, "carry", None) or {}
    if carry.get("contact", {}).get("external_userid") == external_userid:
        return carry["contact"], list(carry.get("follows") or [])
    return _wecom_view(corp, external_userid)


def _reported(corp, payload: dict, change: str, event=None) -> None:
    """``event`` is given for adds: they get a welcome message and live code attribution."""
    userid, external_userid = common.required(payload, "UserID", "ExternalUserID")
    contact, follows = _view_for(corp, external_userid, event)
    follow = next((f for f in follows if f.get("userid") == userid), None)
    if follow is not None:
        _known_tags(corp, follow)
    state = str(payload.get("State") or "")
    live_code = live_code_for_state(corp, state) if event is not None else None
    event_time = common.event_time(payload)
    customer, relation = customer_upsert_from_wecom(
        corp=corp, contact=contact, follow=follow, userid=userid, change=change,
        event_time=event_time, event_state=state,
        channel_name=live_code.name if live_code else "")
    if event is not None:
        added_at = wecom_datetime(event_time)
        welcome_send(corp, event.pk, override=live_code_welcome(live_code, at=added_at))
        if live_code is not None:
            live_code_add_record(corp=corp, live_code=live_code, event_key=event.dedupe_key,
                                 customer=customer,
                                 employee=relation.employee if relation else None,
                                 added_at=added_at)
    group_members_link_customer(corp=corp, customer=customer)


def _customer(corp, payload: dict):
    """(customer, employee, whether WeCom still lists their relationship)."""
    userid, external_userid = common.required(payload, "UserID", "ExternalUserID")
    contact, follows = _wecom_view(corp, external_userid)
    customer, _none = customer_upsert_from_wecom(corp=corp, contact=contact)
    group_members_link_customer(corp=corp, customer=customer)
    listed = any(f.get("userid") == userid for f in follows)
    return customer, employee_for_wecom_userid(corp=corp, userid=userid), listed


@handles(EVENT, "add_external_contact")
def on_add_external_contact(corp, payload: dict, event) -> None:
    _reported(corp, payload, "add", event=event)


@handles(EVENT, "add_half_external_contact")
def on_add_half_external_contact(corp, payload: dict, event) -> None:
    # The customer added the member without verification; the member has not accepted yet.
    # The welcome and the live code attribution wait for add_external_contact.
    _reported(corp, payload, "add_half")


@handles(EVENT, "edit_external_contact")
def on_edit_external_contact(corp, payload: dict, event) -> None:
    _reported(corp, payload, "edit")


@handles(EVENT, "del_external_contact")
def on_del_external_contact(corp, payload: dict, event) -> None:
    """The employee deleted the customer."""
    customer, employee, listed = _customer(corp, payload)
    follow_end_from_wecom(corp=corp, customer=customer, employee=employee,
                          deleted_by=FollowRelation.DeletedBy.EMPLOYEE,
                          event_time=common.event_time(payload),
                          source=str(payload.get("Source") or ""), still_listed=listed)


@handles(EVENT, "del_follow_user")
def on_del_follow_user(corp, payload: dict, event) -> None:
    """The customer deleted (or blocked) the employee."""
    customer, employee, listed = _customer(corp, payload)
    follow_end_from_wecom(corp=corp, customer=customer, employee=employee,
                          deleted_by=FollowRelation.DeletedBy.CUSTOMER,
                          event_time=common.event_time(payload), still_listed=listed)


@handles(EVENT, "transfer_fail")
def on_transfer_fail(corp, payload: dict, event) -> None:
    """A transfer to UserID did not happen (customer_refused, customer_limit_exceed)."""
    customer, employee, _listed = _customer(corp, payload)
    customer_transfer_failed(corp=corp, customer=customer, employee=employee,
                             reason=str(payload.get("FailReason") or ""),
                             event_time=common.event_time(payload))
