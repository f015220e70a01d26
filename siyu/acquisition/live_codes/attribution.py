"""A customer added an employee through a channel live code: what the add path does with it.

Used in two steps around the welcome message, which comes first because WeCom accepts its
WelcomeCode for 20 s only:

1. :func:`live_code_for_state` and :func:`live_code_welcome` before the welcome is sent;
2. :func:`live_code_add_record` after it (``siyu.acquisition.subscribers``, on CustomerAdded):
   the attribution row, the code's tags on the customer, the daily count and round-robin turn,
   and a follow-up job for the slower WeCom calls (mark_tag, re-pointing the contact way).

Every step keys on the WeCom event, so a duplicate or re-driven callback changes nothing twice.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from siyu.acquisition.live_codes import rotation
from siyu.acquisition.models import LiveCode, LiveCodeAdd, LiveCodeRotation
from siyu.customers.models import FollowRelation
from siyu.customers.services import customer_tag
from siyu.engagement.models import WelcomeDelivery
from siyu.engagement.welcome import Welcome

STATE_PREFIX = "lc_"


def live_code_for_state(corp, state: str) -> LiveCode | None:
    """The channel code whose contact way carries ``state``; None for any other state."""
    return live_codes_by_state(corp, [state]).get(state)


def live_codes_by_state(corp, states) -> dict[str, LiveCode]:
    """The channel codes of many states, in one query (the welcome lane): state → code."""
    wanted = {s for s in states if s and s.startswith(STATE_PREFIX)}
    if not wanted:
        return {}
    return {c.state: c for c in LiveCode.objects.for_corp(corp).filter(state__in=wanted)}


def is_active_at(live_code: LiveCode, moment: datetime) -> bool:
    if live_code.status != LiveCode.Status.ACTIVE:
        return False
    return live_code.expires_at is None or moment < live_code.expires_at


def live_code_welcome(live_code: LiveCode | None, *, at: datetime) -> Welcome | None:
    """The code's own welcome, to override the employee's default. None when the code has
    none, or when it had expired or was disabled at the time of the add: the code's campaign
    content (an offer, a date) may no longer hold, so the default welcome is sent instead."""
    if live_code is None or not is_active_at(live_code, at):
        return None
    if not (live_code.welcome_text or live_code.welcome_attachments):
        return None
    return Welcome(live_code.welcome_text, list(live_code.welcome_attachments),
                   WelcomeDelivery.Source.LIVE_CODE)


def _first_relationship(corp, customer, employee, added_at: datetime) -> bool:
    """Whether this add is the customer's first relationship with the enterprise: no other
    employee had added them before. Decided by time, not by arrival order, so an edit or a
    second add delivered first does not turn a new customer into a returning one."""
    earlier = FollowRelation.objects.for_corp(corp).filter(customer=customer,
                                                           added_at__lt=added_at)
    if employee is not None:
        earlier = earlier.exclude(employee=employee)
    return not earlier.exists()


def _needs_refresh(live_code: LiveCode) -> bool:
    """Round robin moves on after every add; a daily cap may have been reached."""
    return (live_code.mode == LiveCode.Mode.ROUND_ROBIN
            or live_code.members.filter(daily_cap__isnull=False).exists())


def _queue_refresh(live_code: LiveCode) -> None:
    from siyu.acquisition.tasks import refresh_live_code

    LiveCodeRotation.objects.for_corp(live_code.corp_id).get_or_create(
        corp_id=live_code.corp_id, live_code=live_code)
    queued = (LiveCodeRotation.objects.for_corp(live_code.corp_id)
              .filter(live_code=live_code, refresh_queued=False).update(refresh_queued=True))
    if queued:
        transaction.on_commit(lambda: refresh_live_code.enqueue(live_code_id=live_code.pk))


def live_code_add_record(*, corp, live_code: LiveCode, event_key: str, customer, employee,
                         added_at: datetime) -> LiveCodeAdd | None:
    """Attributes one add to ``live_code``; None when this event was already recorded.

    The code's tags are applied locally here (they show at once in the console) and in WeCom
    by the follow-up job. Adds through an expired or disabled code are still attributed, with
    ``code_inactive`` set, and still tagged: the tags say where the customer came from."""
    from siyu.acquisition.tasks import live_code_add_followup

    inactive = not is_active_at(live_code, added_at)
    try:
        with transaction.atomic():
            add = LiveCodeAdd.objects.create(
                corp=corp, live_code=live_code, customer=customer, employee=employee,
                event_key=event_key, added_at=added_at, code_inactive=inactive,
                new_customer=_first_relationship(corp, customer, employee, added_at))
            tags = list(live_code.tags.all())
            if tags:
                customer_tag(corp=corp, actor=None, customer=customer, tags=tags)
            if employee is not None and not inactive:
                rotation.record_assignment(live_code=live_code, employee_id=employee.pk,
                                           now=added_at)
                if _needs_refresh(live_code):
                    _queue_refresh(live_code)
            if any(t.wecom_tag_id for t in tags) and employee is not None:
                transaction.on_commit(
                    lambda: live_code_add_followup.enqueue(add_id=add.pk, corp_id=corp.pk))
    except IntegrityError:
        if LiveCodeAdd.objects.for_corp(corp).filter(event_key=event_key).exists():
            return None
        raise
    return add


def live_code_tags_push(*, corp_id: int, add_id: int) -> bool:
    """Marks the code's WeCom tags on the customer's relationship (the follow-up job)."""
    from siyu.wecom.customer_tags import customer_tags_mark

    add = (LiveCodeAdd.objects.for_corp(corp_id).select_related("corp", "customer", "employee",
                                                                "live_code")
           .filter(pk=add_id).first())
    if add is None or add.employee is None or not add.customer.external_userid:
        return False
    tag_ids = [t.wecom_tag_id for t in add.live_code.tags.all() if t.wecom_tag_id]
    return customer_tags_mark(add.corp, userid=add.employee.userid,
                              external_userid=add.customer.external_userid,
                              wecom_tag_ids=tag_ids)


def live_code_refresh_queued(*, live_code_id: int) -> tuple[str, ...]:
    """The coalesced refresh job: clears the queued flag first, so an add arriving while the
    contact way is re-pointed queues the next refresh rather than being missed."""
    from siyu.acquisition.live_codes.services import live_code_refresh

    live_code = LiveCode.objects.unscoped().select_related("corp").filter(pk=live_code_id).first()
    if live_code is None:
        return ()
    LiveCodeRotation.objects.for_corp(live_code.corp_id).filter(
        live_code=live_code).update(refresh_queued=False)
    return live_code_refresh(live_code=live_code, now=timezone.now())
