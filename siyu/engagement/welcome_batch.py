"""Claiming and recording welcome deliveries many at once, for the welcome lane
(siyu.engagement.lane): one insert claims a batch of adds, one statement records the outcomes
of the sends that finished. The delivery row (unique per add) is what makes a welcome go out
once, whichever lane took the add."""

import secrets
from dataclasses import dataclass

from django.db import connections, transaction
from django.utils import timezone

from siyu.accounts.models import Employee
from siyu.customers.models import Customer
from siyu.engagement.models import WelcomeDelivery
from siyu.engagement.selectors import welcome_for
from siyu.engagement.services import event_datetime, latency_ms, not_to_send
from siyu.engagement.welcome import Welcome

Status = WelcomeDelivery.Status


@dataclass
class Pending:
    """A welcome this round owns and must send."""

    delivery: WelcomeDelivery
    event: object  # siyu.wecom.callback_events.ContactAdded
    welcome: Welcome
    employee_name: str
    customer_name: str = ""  # known already (a returning customer); else read from WeCom


def welcome_claim_batch(corp, events, *, overrides: dict) -> list[Pending]:
    """Claims the deliveries of ``events`` (ContactAdded of one corp) that nobody has claimed:
    rows settled at once (no WelcomeCode, no template, late) are written settled, the others
    as "sending". ``overrides``: event_key → a registered source's Welcome (a live code's).
    Returns what to send."""
    userids = {e.userid for e in events}
    employees = {e.userid: e for e in Employee.objects.for_corp(corp).filter(userid__in=userids)}
    # A returning customer is known already; a new one is linked once the add is dispatched.
    customers = {ext: (pk, name) for ext, pk, name in Customer.objects.for_corp(corp)
                 .filter(external_userid__in={e.external_userid for e in events})
                 .values_list("external_userid", "pk", "name")}
    defaults: dict = {}
    token = secrets.token_hex(8)
    rows, plans = [], {}
    for event in events:
        employee = employees.get(event.userid)
        override = overrides.get(event.event_key)
        if override is None and employee is not None and employee.pk not in defaults:
            defaults[employee.pk] = welcome_for(corp, employee)
        welcome = override or (defaults.get(employee.pk) if employee else None)
        settled = not_to_send(event, welcome)
        status, reason = settled or (Status.SENDING, "")
        rows.append(WelcomeDelivery(
            corp=corp, dedupe_key=event.event_key, event_id=event.event_id, employee=employee,
            customer_id=customers.get(event.external_userid, (None, ""))[0],
            event_time=event_datetime(event), status=status, reason=reason, claim_token=token,
            source=welcome.source if welcome else ""))
        if settled is None:
            plans[event.event_key] = (event, welcome, employee.name if employee else "",
                                      customers.get(event.external_userid, (None, ""))[1])
    # Rows that exist already (a dispatch or another lane got there first) are skipped.
    WelcomeDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    owned = (WelcomeDelivery.objects.for_corp(corp)
             .filter(claim_token=token, status=Status.SENDING, dedupe_key__in=list(plans)))
    return [Pending(delivery, *plans[delivery.dedupe_key]) for delivery in owned]


@dataclass(frozen=True)
class Outcome:
    pending: Pending
    sent: bool
    reason: str = ""
    errcode: int | None = None


FINISH_FIELDS = ("status", "reason", "errcode", "sent_at", "latency_ms")


def welcome_finish_batch(outcomes: list[Outcome]) -> None:
    """Records how each send went: one statement run for all rows (executemany). Django's
    bulk_update builds a CASE per field and row, which cost more CPU than the sends."""
    now = timezone.now()
    rows = []
    for outcome in outcomes:
        delivery = outcome.pending.delivery
        if outcome.sent:
            delivery.status, delivery.sent_at = Status.SENT, now
            delivery.latency_ms = latency_ms(event_datetime(outcome.pending.event), now)
        else:
            delivery.status, delivery.reason = Status.FAILED, outcome.reason[:255]
            delivery.errcode = outcome.errcode
        rows.append(delivery)
    if not rows:
        return
    meta = WelcomeDelivery._meta
    connection = connections[WelcomeDelivery.objects.db]
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in FINISH_FIELDS]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    # Only the model's own table and column names go into the text; values are parameters.
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [[f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields]
              + [row.pk] for row in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)
