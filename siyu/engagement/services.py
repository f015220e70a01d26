"""Writes for welcome messages: editing the defaults and sending one per add event."""

import time
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from siyu.accounts.models import Employee
from siyu.core.audit import audit_record, diff
from siyu.core.errors import ValidationFailed
from siyu.customers.models import Customer
from siyu.engagement.models import (
    STALE_SENDING_SECONDS,
    WORKER_STOPPED_REASON,
    WelcomeDelivery,
    WelcomeTemplate,
)
from siyu.engagement.selectors import welcome_for
from siyu.engagement.welcome import Welcome, welcome_render, welcome_validate
from siyu.wecom.welcome import WelcomeRejected, add_event, welcome_message_send

# WeCom accepts a WelcomeCode for 20 seconds after the event; past that a call only wastes
# quota and a worker's time.
WELCOME_WINDOW_SECONDS = 20

Status = WelcomeDelivery.Status


def _fields(template: WelcomeTemplate) -> dict:
    return {"text": template.text, "attachments": template.attachments,
            "enabled": template.enabled}


@transaction.atomic
def welcome_template_save(*, corp, actor, employee=None, department=None, text: str = "",
                          attachments=None, enabled: bool = True) -> WelcomeTemplate:
    """Creates or replaces the default welcome of one employee or one department."""
    attachments = [] if attachments is None else attachments
    if (employee is None) == (department is None):
        raise ValidationFailed(
            _("Choose either an employee or a department for the welcome message."),
            field_errors={"scope": [_("Give exactly one of employee or department.")]})
    welcome_validate(text=text, attachments=attachments)
    scope = {"employee": employee} if employee is not None else {"department": department}
    template = WelcomeTemplate.objects.for_corp(corp).select_for_update().filter(**scope).first()
    before = _fields(template) if template else {}
    if template is None:
        template = WelcomeTemplate(corp=corp, **scope)
    template.text, template.attachments, template.enabled = text, attachments, enabled
    template.updated_by = actor if getattr(actor, "pk", None) else None
    template.save()
    audit_record(corp=corp, actor=actor,
                 action="welcome_template.update" if before else "welcome_template.create",
                 obj=template, changes=diff(before, _fields(template)))
    return template


@transaction.atomic
def welcome_template_delete(*, corp, actor, template: WelcomeTemplate) -> None:
    audit_record(corp=corp, actor=actor, action="welcome_template.delete", obj=template,
                 changes=diff(_fields(template), {}))
    template.delete()


def event_datetime(event) -> datetime | None:
    """When WeCom says the add happened (its CreateTime)."""
    return datetime.fromtimestamp(event.create_time, tz=UTC) if event.create_time else None


def latency_ms(event_time: datetime | None, sent_at: datetime) -> int | None:
    """Event → welcome sent, as shown to operators."""
    if event_time is None:
        return None
    return max(0, round((sent_at - event_time).total_seconds() * 1000))


def late_reason(event) -> str | None:
    """Why it is too late to send ``event``'s welcome; None while WeCom still accepts it."""
    late = time.time() - event.create_time if event.create_time else 0
    if late > WELCOME_WINDOW_SECONDS:
        return f"late: {late:.1f} s after the event, past WeCom's 20 s window"
    return None


def not_to_send(event, welcome: Welcome | None) -> tuple[str, str] | None:
    """(status, reason) when this add gets no welcome from Siyu; None when it is to be sent."""
    if not event.welcome_code:
        return Status.SKIPPED, "no WelcomeCode in the event"
    if welcome is None or not (welcome.text or welcome.attachments):
        return Status.SKIPPED, "no template"
    if (late := late_reason(event)) is not None:
        return Status.FAILED, late
    return None


def _claim(corp, event, **fields) -> WelcomeDelivery | None:
    """Inserts the event's delivery row; None when another dispatch already has it."""
    try:
        with transaction.atomic():
            return WelcomeDelivery.objects.create(corp=corp, dedupe_key=event.dedupe_key,
                                                  event_id=event.event_id, **fields)
    except IntegrityError:
        return None


def _finish(delivery: WelcomeDelivery, status: str, reason: str = "", **fields) -> None:
    delivery.status, delivery.reason = status, reason[:255]
    for name, value in fields.items():
        setattr(delivery, name, value)
    delivery.save()


def _link_customer(corp, delivery: WelcomeDelivery, external_userid: str) -> None:
    customer = Customer.objects.for_corp(corp).filter(external_userid=external_userid).first()
    if customer is not None:
        WelcomeDelivery.objects.for_corp(corp).filter(pk=delivery.pk, customer__isnull=True)\
            .update(customer=customer)
        delivery.customer = customer


def welcome_send(corp, event_id: int, *, override: Welcome | None = None):
    """Sends the welcome for the add event ``event_id`` at most once, recording what happened.

    ``override`` is the live code's own welcome when the customer came through one. A delivery
    the welcome lane made before the customer was stored is linked to the customer here.
    Returns the WelcomeDelivery (the existing one for a duplicate), or None if there is no such
    event.
    Deliberately not one transaction: the claim row commits before WeCom is called, so a
    concurrent or repeated dispatch of the same event sees it and does not send again."""
    event = add_event(corp, event_id)
    if event is None:
        return None
    existing = WelcomeDelivery.objects.for_corp(corp).filter(dedupe_key=event.dedupe_key).first()
    if existing is not None:
        if existing.customer_id is None and event.external_userid:
            _link_customer(corp, existing, event.external_userid)
        return existing
    employee = Employee.objects.for_corp(corp).filter(userid=event.userid).first()
    customer = (Customer.objects.for_corp(corp).filter(external_userid=event.external_userid)
                .first() if event.external_userid else None)
    event_time = event_datetime(event)
    welcome = welcome_for(corp, employee, override) if employee or override else None
    delivery = _claim(corp, event, customer=customer, employee=employee,
                      event_time=event_time, status=Status.SENDING,
                      source=welcome.source if welcome else "")
    if delivery is None:
        return WelcomeDelivery.objects.for_corp(corp).get(dedupe_key=event.dedupe_key)
    if (settled := not_to_send(event, welcome)) is not None:
        _finish(delivery, *settled)
        return delivery
    text = welcome_render(welcome.text, customer_name=customer.name if customer else "",
                          employee_name=employee.name if employee else "")
    try:
        welcome_message_send(corp, welcome_code=event.welcome_code, text=text,
                             attachments=welcome.attachments)
    except WelcomeRejected as rejected:
        _finish(delivery, Status.FAILED, rejected.reason, errcode=rejected.errcode)
        return delivery
    sent_at = timezone.now()
    _finish(delivery, Status.SENT, sent_at=sent_at, latency_ms=latency_ms(event_time, sent_at))
    return delivery


def welcome_deliveries_close_stopped(*, now=None) -> int:
    """Marks deliveries left "sending" by a worker that stopped mid-send as failed with
    WORKER_STOPPED_REASON, so they read as "unknown" everywhere. Never re-sends: the
    WelcomeCode may already have been used, and a second send could reach the customer twice.
    A periodic hook in every worker; the conditional UPDATE makes concurrent runs harmless, and
    a slow send that finishes afterwards still records its real outcome."""
    cutoff = (now or timezone.now()) - timedelta(seconds=STALE_SENDING_SECONDS)
    return (WelcomeDelivery.objects.unscoped()
            .filter(status=Status.SENDING, created_at__lt=cutoff)
            .update(status=Status.FAILED, reason=WORKER_STOPPED_REASON))
