"""Reads of the organisation: departments and employees, within the actor's scope."""

from django.db.models import Count, Q, QuerySet

from siyu.accounts.models import Department, Employee
from siyu.accounts.scoping import restrict, visible_employee_ids
from siyu.core.errors import NotFound


def departments_for(actor) -> QuerySet:
    return restrict(Department.objects, actor, "org.view").annotate(
        employee_count=Count("employees"))


def employees_for(actor, *, q: str = "", department_id=None, status: str = "") -> QuerySet:
    qs = restrict(Employee.objects, actor, "org.view")
    ids = visible_employee_ids(actor)
    if ids is not None:
        qs = qs.filter(id__in=ids)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(userid__icontains=q) | Q(mobile__icontains=q))
    if department_id:
        dept = Department.objects.for_corp(actor.corp_id).filter(pk=department_id).first()
        if dept is None:
            return qs.none()
        qs = qs.filter(departments__path__startswith=dept.path).distinct()
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("main_department").annotate(
        # distinct: the department filter joins one row per matching department.
        customer_count=Count("follows", filter=Q(follows__deleted_at__isnull=True),
                             distinct=True))


def employee_get_for(actor, employee_id) -> Employee:
    try:
        pk = int(employee_id)
    except (TypeError, ValueError):
        raise NotFound(f"No employee with id {employee_id}.") from None
    employee = employees_for(actor).filter(pk=pk).first()
    if employee is None:
        raise NotFound(f"No employee with id {employee_id} that you can see.")
    return employee
