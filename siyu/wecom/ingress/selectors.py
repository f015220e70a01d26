"""Reads of stored callbacks for the console (admins only: "wecom.manage")."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from siyu.accounts.scoping import restrict
from siyu.core.errors import NotFound
from siyu.wecom.models import WeComEvent

PERMISSION = "wecom.manage"


@dataclass(frozen=True)
class EventFilters:
    status: str = ""
    event: str = ""


def events_for(actor, filters: EventFilters = EventFilters()) -> QuerySet[WeComEvent]:
    events = restrict(WeComEvent.objects.all(), actor, PERMISSION)
    if filters.status:
        events = events.filter(status=filters.status)
    if filters.event:
        events = events.filter(event=filters.event)
    return events.defer("raw_xml")


def event_names_for(actor) -> list[str]:
    """Distinct Event values received by the actor's enterprise (the filter's choices)."""
    return sorted(
        restrict(WeComEvent.objects.all(), actor, PERMISSION).exclude(event="")
        .order_by().values_list("event", flat=True).distinct()
    )


def event_get_for(actor, event_id) -> WeComEvent:
    try:
        return restrict(WeComEvent.objects.all(), actor, PERMISSION).get(pk=int(event_id))
    except (WeComEvent.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(_("This callback does not exist.")) from exc
