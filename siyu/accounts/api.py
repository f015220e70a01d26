"""REST endpoints for the organisation: /api/v1/employees…, /api/v1/departments.

Employees and departments are limited to the actor's data scope, as in the console.
"""

from ninja import Query, Router

from siyu.accounts.schemas import DepartmentOut, EmployeeOut, EmployeePage, EmployeeQuery
from siyu.accounts.selectors import department_tree_for, employee_get_for, employees_for
from siyu.core.api_support import READ_ERRORS, ObjectId, cursor_page

router = Router(tags=["organisation"])


def _employee_out(employee) -> dict:
    main = employee.main_department
    return {
        "id": employee.pk, "userid": employee.userid, "name": employee.name,
        "position": employee.position, "mobile": employee.mobile, "email": employee.email,
        "avatar": employee.avatar, "gender": employee.gender, "status": employee.status,
        "resigned_at": employee.resigned_at,
        "main_department": {"id": main.pk, "name": main.name} if main else None,
        "department_ids": sorted(d.pk for d in employee.departments.all()),
        "customer_count": employee.customer_count,
    }


@router.get("/employees", response={200: EmployeePage, **READ_ERRORS})
def list_employees(request, query: Query[EmployeeQuery]):
    """Employees in your data scope, newest first; follow ``next_cursor`` for more."""
    employees = employees_for(request.user, q=query.q, department_id=query.department,
                              status=query.status or "").prefetch_related("departments")
    rows, next_cursor = cursor_page(employees, cursor=query.cursor, limit=query.limit)
    return {"items": [_employee_out(e) for e in rows], "next_cursor": next_cursor}


@router.get("/employees/{employee_id}", response={200: EmployeeOut, **READ_ERRORS})
def get_employee(request, employee_id: ObjectId):
    return _employee_out(employee_get_for(request.user, employee_id))


def _flatten(nodes, parent_id=None):
    for node in nodes:
        dept = node.department
        yield {"id": dept.pk, "wecom_id": dept.wecom_id, "name": dept.name,
               "parent_id": parent_id, "order": dept.order, "path": dept.path,
               "depth": dept.depth, "employee_count": node.direct_count,
               "subtree_employee_count": node.total_count}
        yield from _flatten(node.children, dept.pk)


@router.get("/departments", response={200: list[DepartmentOut], **READ_ERRORS})
def list_departments(request):
    """The departments you can see, flat, each parent before its children.

    Administrators see the whole tree; managers their departments' subtrees; staff their own
    departments. ``parent_id`` is the nearest department you can see above (null at the top of
    your part of the tree); counts are active employees you can see.
    """
    return list(_flatten(department_tree_for(request.user)))
