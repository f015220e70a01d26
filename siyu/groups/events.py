"""Events of the groups app (catalogue: docs/architecture.md)."""

from dataclasses import dataclass

from siyu.core.events import Event, event


@event("group_changed")
@dataclass(frozen=True)
class GroupChanged(Event):
    """A customer group was created, changed (name, owner, members) or dismissed."""

    group_id: int
    change: str  # create, update or dismiss


@event("group_joined")
@dataclass(frozen=True)
class GroupJoined(Event):
    group_id: int
    userids: tuple[str, ...]
    at: int  # when, seconds since the epoch


@event("group_left")
@dataclass(frozen=True)
class GroupLeft(Event):
    group_id: int
    userids: tuple[str, ...]
    at: int  # when, seconds since the epoch
