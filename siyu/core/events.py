"""Events: what happened, told to whoever subscribed, so no app calls another to react.

An event is a frozen dataclass with a catalogue name (see docs/architecture.md for the
catalogue). Apps declare their events with :func:`event` and register subscribers in their
``AppConfig.ready()`` (usually by importing their ``subscribers`` module)::

    @event("customer_added")
    @dataclass(frozen=True)
    class CustomerAdded(Event):
        customer_id: int
        ...

    @subscribe(CustomerAdded)
    def attribute_to_live_code(event: CustomerAdded) -> None: ...

Two ways an event reaches its subscribers:

* :func:`publish` — a domain event, from a service, usually inside its transaction. Each
  ``durable`` subscriber (the default) gets a job of its own, written in the publisher's
  transaction: it runs after the commit, in a worker, retried on transient failures, and is lost
  neither by a crash nor by the failure of another subscriber. ``atomic`` subscribers run at
  once, inside the publisher's transaction: for small local writes that belong with the change
  (a link, a count), where a job of their own would cost more than the write; their failure
  rolls the publisher back, so both happen or neither. ``inline`` subscribers run in the
  publishing process right after the commit — only for work where latency matters more than
  durability. Nothing runs if the transaction rolls back.
* :func:`deliver` — runs every subscriber now, in this thread, in registration order. The
  transport uses it for WeCom events: the stored callback is itself the durable record, and its
  dispatch job retries the whole delivery (so those subscribers are idempotent).

``when`` on a subscription is a cheap test of the event's own fields, made at publish time, so
that a subscriber that would ignore most events does not cost a job for each.
"""

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django_tasks import task

from siyu.core.jobs import TransientError, retrying

logger = logging.getLogger("siyu.events")

DURABLE = "durable"
ATOMIC = "atomic"
INLINE = "inline"


@dataclass(frozen=True)
class Event:
    """Base of every event: which enterprise it happened in. Fields hold ids and plain values
    only (they travel through the job queue as JSON)."""

    name: ClassVar[str] = ""
    corp_id: int

    def as_data(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Subscription:
    event_name: str
    name: str  # "module.function": stable, stored in queued jobs
    handler: Callable[[Event], object]
    mode: str = DURABLE
    when: Callable[[Event], bool] | None = None

    def wants(self, event: Event) -> bool:
        return self.when is None or bool(self.when(event))


_catalogue: dict[str, type[Event]] = {}
_subscriptions: dict[str, list[Subscription]] = {}
_by_name: dict[str, Subscription] = {}


def event(name: str):
    """Class decorator: adds an event type to the catalogue under ``name``."""

    def register(cls: type[Event]) -> type[Event]:
        existing = _catalogue.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ImproperlyConfigured(f"Two events named {name!r}: {existing} and {cls}.")
        cls.name = name
        _catalogue[name] = cls
        return cls

    return register


def catalogue() -> dict[str, type[Event]]:
    return dict(_catalogue)


def subscribe(event_type: type[Event], *, mode: str = DURABLE,
              when: Callable[[Event], bool] | None = None):
    """Function decorator: ``fn(event)`` runs for every ``event_type`` event."""
    if mode not in (DURABLE, ATOMIC, INLINE):
        raise ImproperlyConfigured(f"Unknown subscription mode {mode!r}.")
    if not event_type.name:
        raise ImproperlyConfigured(f"{event_type.__qualname__} is not in the catalogue (@event).")

    def register(fn):
        name = f"{fn.__module__}.{fn.__qualname__}"
        subscription = Subscription(event_type.name, name, fn, mode, when)
        if name in _by_name:  # a module imported twice (tests reloading it): replace
            _subscriptions[event_type.name] = [s for s in _subscriptions[event_type.name]
                                               if s.name != name]
        _by_name[name] = subscription
        _subscriptions.setdefault(event_type.name, []).append(subscription)
        return fn

    return register


def subscriptions(event_type: type[Event] | str) -> list[Subscription]:
    name = event_type if isinstance(event_type, str) else event_type.name
    return list(_subscriptions.get(name, ()))


def publish(event: Event) -> None:
    """Tells ``event`` to its subscribers once the current transaction commits (at once when
    there is none)."""
    for subscription in _subscriptions.get(event.name, ()):
        if not subscription.wants(event):
            continue
        if subscription.mode == ATOMIC:
            subscription.handler(event)
        elif subscription.mode == INLINE:
            transaction.on_commit(lambda s=subscription: _run_inline(s, event), robust=True)
        else:
            _enqueue(subscription, event)


def deliver(event: Event) -> None:
    """Runs every subscriber of ``event`` now, in order; the first failure propagates."""
    for subscription in _subscriptions.get(event.name, ()):
        if subscription.wants(event):
            subscription.handler(event)


def _run_inline(subscription: Subscription, event: Event) -> None:
    try:
        subscription.handler(event)
    except Exception:
        logger.exception("Inline subscriber %s failed on %s.", subscription.name, event)
        raise


def _enqueue(subscription: Subscription, event: Event) -> None:
    deliver_event.enqueue(subscriber=subscription.name, event=event.name,
                          data=event.as_data(), corp_id=event.corp_id)


# Subscribers are idempotent, so a retry after any passing failure is safe; an IntegrityError is
# two subscribers' jobs inserting the same row at once, which the retry then finds.
@retrying(max_attempts=8, base_delay=2.0,
          retry_on=(TransientError, OperationalError, InterfaceError, IntegrityError))
@task()
def deliver_event(*, subscriber: str, event: str, data: dict, corp_id: int) -> None:
    """The job of one durable subscription: runs ``subscriber`` on the event."""
    subscription = _by_name.get(subscriber)
    event_type = _catalogue.get(event)
    if subscription is None or event_type is None:
        # Unsubscribed or renamed since the job was queued: nothing is left to run it.
        logger.warning("Event %s: no subscriber %s any more; dropped.", event, subscriber)
        return
    subscription.handler(event_type(**data))
