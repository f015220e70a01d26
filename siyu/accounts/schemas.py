"""Shapes of employees and departments in the REST API."""

import datetime
from typing import Literal

from ninja import Field, Schema

from siyu.core.api_support import ObjectId, Page, PageQuery


class EmployeeQuery(PageQuery):
    q: str = Field("", max_length=100, description="Search name, userid or mobile.")
    department: ObjectId | None = Field(
        None, description="Department id; employees of its whole subtree.")
    status: Literal["active", "resigned"] | None = None


class DepartmentRefOut(Schema):
    id: int
    name: str


class EmployeeOut(Schema):
    id: int
    userid: str
    name: str
    position: str
    mobile: str
    email: str
    avatar: str
    gender: int
    status: str
    resigned_at: datetime.datetime | None
    main_department: DepartmentRefOut | None
    department_ids: list[int]
    customer_count: int = Field(description="Customers this employee follows now.")


class EmployeePage(Page):
    items: list[EmployeeOut]


class DepartmentOut(Schema):
    id: int
    wecom_id: int
    name: str
    parent_id: int | None = Field(description="Nearest visible department above, or null.")
    order: int
    path: str = Field(description="WeCom ids from the root, e.g. /1/3/7/.")
    depth: int
    employee_count: int = Field(description="Active employees you can see in this department.")
    subtree_employee_count: int = Field(description="The same, over the whole subtree.")
