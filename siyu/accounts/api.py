"""REST endpoints for the organisation: /api/v1/employees…, /api/v1/departments.

Employees are limited to the actor's data scope; departments are visible corp-wide.
"""

from ninja import Query, Router

from siyu.accounts.schemas import DepartmentOut, EmployeeOut, EmployeePage, EmployeeQuery
from siyu.accounts.selectors import departments_for, employee_get_for, employees_for
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


@router.get("/departments", response={200: list[DepartmentOut], **READ_ERRORS})
def list_departments(request):
    """All departments, flat, parents before children (rebuild the tree from ``parent_id``)."""
    return [
        {"id": d.pk, "wecom_id": d.wecom_id, "name": d.name, "parent_id": d.parent_id,
         "order": d.order, "path": d.path, "depth": d.depth, "employee_count": d.employee_count}
        for d in departments_for(request.user)
    ]
