"""Reads of the organisation: departments and employees, within the actor's scope."""

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from siyu.accounts.models import Department, Employee, EmployeeDepartment
from siyu.accounts.roles import DataScope
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


@dataclass
class DepartmentNode:
    department: Department
    # Active employees the actor may see: in this department itself / in its whole subtree.
    direct_count: int = 0
    total_count: int = 0
    children: list["DepartmentNode"] = field(default_factory=list)


def _visible_departments(actor) -> list[Department]:
    """All departments for a corp-wide role; a manager's departments and their subtrees; a
    staff member's own departments."""
    departments = list(restrict(Department.objects, actor, "org.view"))
    if actor.data_scope == DataScope.CORP:
        return departments
    mine = _department_ids_of(actor) if actor.employee_id else set()
    own = [d.path for d in departments if d.pk in mine]
    if actor.data_scope == DataScope.DEPARTMENT:
        return [d for d in departments if any(d.path.startswith(p) for p in own)]
    return [d for d in departments if d.path in own]


def _department_ids_of(actor) -> set[int]:
    return set(EmployeeDepartment.objects.for_corp(actor.corp_id)
               .filter(employee_id=actor.employee_id).values_list("department_id", flat=True))


def department_tree_for(actor) -> list[DepartmentNode]:
    """The visible part of the department tree with employee counts, as root nodes."""
    departments = _visible_departments(actor)
    nodes = {d.path: DepartmentNode(d) for d in departments}
    memberships = EmployeeDepartment.objects.for_corp(actor.corp_id).filter(
        department_id__in=[d.pk for d in departments], employee__status=Employee.Status.ACTIVE)
    employee_ids = visible_employee_ids(actor)
    if employee_ids is not None:
        memberships = memberships.filter(employee_id__in=employee_ids)
    subtree_members: dict[str, set[int]] = {path: set() for path in nodes}
    for employee_id, path in memberships.values_list("employee_id", "department__path"):
        nodes[path].direct_count += 1
        for ancestor in _ancestor_paths(path):
            if ancestor in subtree_members:
                subtree_members[ancestor].add(employee_id)
    roots = []
    for path, node in nodes.items():
        node.total_count = len(subtree_members[path])
        parent = next((nodes[a] for a in _ancestor_paths(path)[1:] if a in nodes), None)
        (parent.children if parent else roots).append(node)
    for node in [*nodes.values(), None]:
        siblings = node.children if node else roots
        siblings.sort(key=lambda n: (n.department.order, n.department.wecom_id))
    return roots


def _ancestor_paths(path: str) -> list[str]:
    """The department's own path first, then each ancestor's: /1/3/7/, /1/3/, /1/."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) + "/" for i in range(len(parts), 0, -1)]
