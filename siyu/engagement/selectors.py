"""Reads for welcome messages."""

from dataclasses import replace
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from siyu.accounts.models import Department
from siyu.engagement.models import (
    STALE_SENDING_SECONDS,
    UNKNOWN,
    WORKER_STOPPED_REASON,
    WelcomeDelivery,
    WelcomeTemplate,
)
from siyu.engagement.welcome import Welcome

WelcomeDeliverySource = WelcomeDelivery.Source


def _wecom_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def _department_chain(corp, employee) -> list[Department]:
    """The employee's departments, main first, each followed by its ancestors nearest first;
    no department twice."""
    departments = list(employee.departments.all())
    main_id = employee.main_department_id
    departments.sort(key=lambda d: (d.pk != main_id, d.order, d.pk))
    chain_ids: list[int] = []
    for dept in departments:
        for wecom_id in reversed(_wecom_ids(dept.path)):
            if wecom_id not in chain_ids:
                chain_ids.append(wecom_id)
    by_wecom_id = {d.wecom_id: d for d in
                   Department.objects.for_corp(corp).filter(wecom_id__in=chain_ids)}
    return [by_wecom_id[w] for w in chain_ids if w in by_wecom_id]


def welcome_for(corp, employee, override: Welcome | None = None) -> Welcome | None:
    """The welcome to send for a customer who added ``employee``: the caller's override (a
    live code's own welcome) else the employee's template else the nearest department
    template up the employee's department tree (main department first) else None."""
    if override is not None:
        if override.source:
            return override
        return replace(override, source=WelcomeDeliverySource.LIVE_CODE)
    templates = WelcomeTemplate.objects.for_corp(corp).filter(enabled=True)
    own = templates.filter(employee=employee).first()
    if own is not None:
        return Welcome(own.text, list(own.attachments), WelcomeDeliverySource.EMPLOYEE)
    chain = _department_chain(corp, employee)
    by_department = {t.department_id: t for t in
                     templates.filter(department__in=[d.pk for d in chain])}
    for dept in chain:
        if (template := by_department.get(dept.pk)) is not None:
            return Welcome(template.text, list(template.attachments),
                           WelcomeDeliverySource.DEPARTMENT)
    return None


def templates_for(corp):
    return WelcomeTemplate.objects.for_corp(corp).select_related("employee", "department")


# The statuses an operator filters by (WelcomeDelivery.display_status values).
DELIVERY_FILTERS = (WelcomeDelivery.Status.SENT, WelcomeDelivery.Status.FAILED,
                    WelcomeDelivery.Status.SKIPPED, UNKNOWN)


def _display_status_q(status: str, now) -> Q:
    """Rows whose ``display_status`` is ``status`` (kept in step with the model property)."""
    Status = WelcomeDelivery.Status
    stale = Q(status=Status.SENDING,
              created_at__lt=now - timedelta(seconds=STALE_SENDING_SECONDS))
    stopped = Q(status=Status.FAILED, reason=WORKER_STOPPED_REASON)
    if status == UNKNOWN:
        return stale | stopped
    if status == Status.SENDING:
        return Q(status=Status.SENDING) & ~stale
    if status == Status.FAILED:
        return Q(status=Status.FAILED) & ~stopped
    return Q(status=status)


def deliveries_for(corp, *, status: str = "", employee_ids=None, now=None):
    """Welcome deliveries newest first, optionally only those shown with ``status`` (one of
    DELIVERY_FILTERS or "sending") and only those of ``employee_ids`` (None: the whole corp,
    including events whose employee is unknown; see accounts.scoping.visible_employee_ids).
    Each row's ``display_status`` / ``display_status_label`` tells "unknown" (the worker
    stopped mid-send) apart from a real failure."""
    deliveries = (WelcomeDelivery.objects.for_corp(corp)
                  .select_related("customer", "employee").order_by("-created_at", "-id"))
    if employee_ids is not None:
        deliveries = deliveries.filter(employee_id__in=employee_ids)
    if status:
        deliveries = deliveries.filter(_display_status_q(status, now or timezone.now()))
    return deliveries
