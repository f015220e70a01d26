"""Row-level data scopes, applied in one place: :func:`restrict`.

A model that holds employee-owned rows defines ``scope_q(employee_ids) -> Q``; models without it
are corp-wide (tags, departments). ``restrict`` always scopes to the actor's corp first, then
checks the permission, then narrows by the actor's data scope.
"""

from django.db.models import Q, QuerySet

from siyu.accounts.roles import DataScope
from siyu.core.permissions import require


def visible_employee_ids(actor) -> list[int] | None:
    """Employee ids whose rows the actor may see, or ``None`` for the whole corp."""
    from siyu.accounts.models import Department, Employee, EmployeeDepartment

    scope = actor.data_scope
    if scope == DataScope.CORP:
        return None
    if actor.employee_id is None:
        return []
    if scope == DataScope.OWN:
        return [actor.employee_id]
    paths = list(
        Department.objects.for_corp(actor.corp_id)
        .filter(employees__id=actor.employee_id)
        .values_list("path", flat=True)
    )
    if not paths:
        return [actor.employee_id]
    subtree = Q()
    for path in paths:
        subtree |= Q(department__path__startswith=path)
    ids = set(
        EmployeeDepartment.objects.for_corp(actor.corp_id)
        .filter(subtree)
        .values_list("employee_id", flat=True)
    )
    ids.add(actor.employee_id)
    # Resigned employees keep their rows visible to the managers above them.
    return sorted(Employee.objects.for_corp(actor.corp_id).filter(id__in=ids)
                  .values_list("id", flat=True))


def restrict(queryset: QuerySet, actor, permission: str) -> QuerySet:
    require(actor, permission)
    queryset = queryset.for_corp(actor.corp_id)
    scope_q = getattr(queryset.model, "scope_q", None)
    if scope_q is None:
        return queryset
    employee_ids = visible_employee_ids(actor)
    if employee_ids is None:
        return queryset
    return queryset.filter(scope_q(employee_ids))
