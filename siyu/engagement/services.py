"""Writes for welcome messages: editing the defaults, and the rules and records of sending one
per add (the sending itself is the welcome lane's, siyu.engagement.lane)."""

import time
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from siyu.core.audit import audit_record, diff
from siyu.core.errors import ValidationFailed
from siyu.engagement.models import (
    STALE_SENDING_SECONDS,
    WORKER_STOPPED_REASON,
    WelcomeDelivery,
    WelcomeTemplate,
)
from siyu.engagement.welcome import Welcome, welcome_validate
from siyu.wecom.welcome_feed import WELCOME_WINDOW_SECONDS

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


def welcome_delivery_link_customer(*, corp_id: int, event_key: str, customer_id: int) -> int:
    """Links an add's delivery to its customer once the customer exists (the lane sends before
    the add's dispatch has stored the customer)."""
    return (WelcomeDelivery.objects.for_corp(corp_id)
            .filter(dedupe_key=event_key, customer__isnull=True).update(customer_id=customer_id))


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
