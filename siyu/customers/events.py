"""Events of the customers app, published by its services once their writes are made.

Features that react to what happens to a customer (attribution, group membership, SOP,
alerts, webhooks, segments) subscribe to these; the catalogue is in docs/architecture.md.
"""

from dataclasses import dataclass

from siyu.core.events import Event, event


@event("customer_created")
@dataclass(frozen=True)
class CustomerCreated(Event):
    """A customer row now exists for this external_userid (from WeCom, an import or the API)."""

    customer_id: int
    external_userid: str = ""


@event("customer_added")
@dataclass(frozen=True)
class CustomerAdded(Event):
    """An employee and a customer became WeCom contacts (a relationship began or began again).
    ``event_key``: the WeCom callback's key (empty for a sync); ``half``: the customer added the
    employee without verification and the employee has not accepted yet."""

    customer_id: int
    employee_id: int
    added_at: str  # ISO 8601, UTC
    state: str = ""
    event_key: str = ""
    half: bool = False


@event("customer_deleted_employee")
@dataclass(frozen=True)
class CustomerDeletedEmployee(Event):
    """The customer deleted (or blocked) the employee: WeCom's del_follow_user."""

    customer_id: int
    employee_id: int
    deleted_at: str


@event("employee_deleted_customer")
@dataclass(frozen=True)
class EmployeeDeletedCustomer(Event):
    """The employee deleted the customer: WeCom's del_external_contact."""

    customer_id: int
    employee_id: int
    deleted_at: str


@event("customer_updated")
@dataclass(frozen=True)
class CustomerUpdated(Event):
    """Fields of the customer or of one relationship changed (``fields``: their names)."""

    customer_id: int
    fields: tuple[str, ...] = ()


@event("tags_changed")
@dataclass(frozen=True)
class TagsChanged(Event):
    """Tags were put on or taken off a customer (ids of the tags)."""

    customer_id: int
    added: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()


@event("customer_merged")
@dataclass(frozen=True)
class CustomerMerged(Event):
    """``merged_id`` was folded into ``customer_id`` and no longer exists."""

    customer_id: int
    merged_id: int
