"""Reads behind the console's own pages: the audit log."""

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from siyu.accounts.scoping import restrict
from siyu.core.models import AuditLog


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None


def _day_start(day: datetime.date) -> datetime.datetime:
    # Dates typed into the filter are the operator's local days, not UTC days.
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def audit_entries_for(actor, filters: AuditFilters) -> QuerySet:
    """The actor's enterprise's audit rows, newest first; never another corp's."""
    qs = restrict(AuditLog.objects, actor, "audit.view").select_related("actor")
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.actor:
        qs = qs.filter(actor_label__icontains=filters.actor.strip())
    if filters.date_from:
        qs = qs.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(created_at__lt=_day_start(filters.date_to + datetime.timedelta(days=1)))
    return qs.order_by("-created_at", "-id")


def audit_actions_for(actor) -> list[str]:
    """The action codes present in the enterprise's log, for the filter's choices."""
    return sorted(set(restrict(AuditLog.objects, actor, "audit.view")
                      .order_by().values_list("action", flat=True).distinct()))
