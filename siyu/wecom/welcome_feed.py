"""The adds awaiting their welcome message, straight from the stored callbacks.

WeCom accepts an add's WelcomeCode for 20 seconds, once. Ingress flags an add that carries a
WelcomeCode (``WeComEvent.welcome_due``, on the same insert that stores it), and the welcome
lane (siyu.engagement.lane) takes flagged adds from here without waiting for their dispatch:
the rest of the add (customer, tags, attribution) follows in the queue. The transport only
hands over what the callback said (a typed ``ContactAdded``) and sends with the code; which
welcome to send, and whether, is the engagement app's business.
"""

import time

from siyu.wecom.callback_events import ContactAdded, typed_event
from siyu.wecom.errors import WeComError
from siyu.wecom.models import WeComEvent

WELCOME_WINDOW_SECONDS = 20

# What WeCom's errcodes mean for an operator reading a failed welcome.
_REASONS = {
    41051: "41051 welcome code expired or used",
    41050: "41050 welcome code invalid",
    41049: "41049 welcome code missing",
    41096: "41096 another app is sending the welcome message",
}


def welcome_due(payload: dict) -> bool:
    """Whether ingress flags a callback as awaiting its welcome (an add with a WelcomeCode)."""
    return (payload.get("Event") == "change_external_contact"
            and payload.get("ChangeType") in ("add_external_contact",
                                              "add_half_external_contact")
            and bool(payload.get("WelcomeCode")))


def take_due(limit: int) -> list[ContactAdded]:
    """Up to ``limit`` flagged adds still inside WeCom's window, newest first (under overload
    the oldest are the ones past saving), unflagged as they are taken. Two lanes may take the
    same add at the same moment: the welcome's delivery row, inserted once, decides which one
    sends (siyu.engagement.welcome_batch)."""
    cutoff = int(time.time()) - WELCOME_WINDOW_SECONDS
    return _take(WeComEvent.objects.unscoped().filter(welcome_due=True, create_time__gte=cutoff)
                 .order_by("-create_time", "-id"), limit)


def take_expired(limit: int) -> list[ContactAdded]:
    """Flagged adds that no lane took within WeCom's window, unflagged as they are taken: the
    lane records them as late, so an operator sees every add's welcome outcome."""
    cutoff = int(time.time()) - WELCOME_WINDOW_SECONDS
    return _take(WeComEvent.objects.unscoped().filter(welcome_due=True, create_time__lt=cutoff)
                 .order_by("create_time", "id"), limit)


def _take(due, limit: int) -> list[ContactAdded]:
    events = list(due.only("id", "corp_id", "dedupe_key", "event", "change_type", "payload")
                  [:limit])
    if events:
        WeComEvent.objects.unscoped().filter(pk__in=[e.pk for e in events]).update(
            welcome_due=False)
    return [typed for typed in map(_typed, events) if typed is not None]


def _typed(event: WeComEvent) -> ContactAdded | None:
    try:
        typed = typed_event(event)
    except ValueError:
        return None
    return typed if isinstance(typed, ContactAdded) else None


def rejection_reason(error: WeComError) -> str:
    return (_REASONS.get(error.errcode) or f"{error.errcode} {error.errmsg}")[:255]
