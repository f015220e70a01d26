"""Stage "org": departments (parents before children, so materialized paths are right) and
employees; employees WeCom no longer lists are marked resigned."""

import asyncio

from siyu.accounts.models import Department, Employee
from siyu.accounts.services import (
    department_delete,
    department_upsert,
    employee_resign,
    employee_upsert,
)
from siyu.wecom.sync.concurrency import run_all

STAGE = "org"
EXITED = 5  # WeCom member status: 1 active, 2 disabled, 4 not yet activated, 5 exited


def department_paths(departments: list[dict]) -> dict[int, str]:
    """Materialized path of every department in WeCom's list, whatever order it came in.
    A parent missing from the list (outside the app's visible range) makes a new root."""
    parent_of = {int(d["id"]): int(d.get("parentid") or 0) for d in departments}
    paths: dict[int, str] = {}

    def path_of(dept_id: int, seen=()) -> str:
        if dept_id in paths:
            return paths[dept_id]
        parent = parent_of.get(dept_id, 0)
        if parent in parent_of and parent not in seen:
            path = f"{path_of(parent, (*seen, dept_id))}{dept_id}/"
        else:
            path = f"/{dept_id}/"
        paths[dept_id] = path
        return path

    for dept_id in parent_of:
        path_of(dept_id)
    return paths


async def run(ctx) -> None:
    if ctx.stage_done(STAGE):
        return
    await ctx.db(ctx.enter_stage, STAGE)
    departments = (await ctx.client.department_list()).get("department", [])
    semaphore = asyncio.Semaphore(ctx.concurrency)
    listings: dict[int, list] = {}

    async def list_members(dept_id: int) -> None:
        async with semaphore:
            listings[dept_id] = (await ctx.client.user_list(dept_id)).get("userlist", [])

    await run_all(list_members(int(dept["id"])) for dept in departments)
    members: dict[str, dict] = {}
    for dept in departments:
        for user in listings[int(dept["id"])]:
            # A member of several departments is listed under each; one entry is enough.
            members.setdefault(user["userid"], user)
    await ctx.db(apply, ctx, departments, list(members.values()))
    await ctx.db(ctx.mark_stage_done, STAGE)


def apply(ctx, departments: list[dict], members: list[dict]) -> None:
    ctx.progress(STAGE, done=0, total=len(departments) + len(members))
    apply_departments(ctx, departments)
    apply_employees(ctx, members, {int(d["id"]) for d in departments})


def apply_departments(ctx, departments: list[dict]) -> None:
    corp = ctx.corp
    paths = department_paths(departments)
    local = {d.wecom_id: d for d in Department.objects.for_corp(corp).select_related("parent")}
    # Shorter paths first: every parent exists (with its final path) before its children.
    for dept in sorted(departments, key=lambda d: (paths[int(d["id"])].count("/"),
                                                   int(d["id"]))):
        wecom_id = int(dept["id"])
        parent_id = int(dept.get("parentid") or 0)
        parent_id = parent_id if parent_id in paths else None
        wanted = (dept.get("name", ""), parent_id, int(dept.get("order") or 0), paths[wecom_id])
        existing = local.get(wecom_id)
        current = None if existing is None else (
            existing.name, existing.parent.wecom_id if existing.parent else None,
            existing.order, existing.path)
        if current != wanted:
            department_upsert(corp=corp, wecom_id=wecom_id, name=wanted[0],
                              parent_wecom_id=parent_id, order=wanted[2])
            ctx.count("departments", "created" if existing is None else "updated", wanted[0])
        ctx.progress(STAGE, add=1)
    if ctx.full:
        listed = set(paths)
        # Deepest first, so a removed subtree never orphans a child before it goes itself.
        for dept in sorted(local.values(), key=lambda d: -d.path.count("/")):
            if dept.wecom_id not in listed:
                department_delete(corp=corp, department=dept)
                ctx.count("departments", "deleted", dept.name)


def _employee_fields(user: dict, known: set[int]) -> dict:
    # Departments outside the listed ones (the app's visible range) cannot be linked.
    all_depts = [int(d) for d in user.get("department", [])]
    depts = [d for d in all_depts if d in known]
    main = int(user.get("main_department") or (depts[0] if depts else 0))
    if main in depts:  # employee_upsert takes the first department as the main one
        depts.remove(main)
        depts.insert(0, main)
    leaders = user.get("is_leader_in_dept") or []
    return {
        "name": user.get("name") or user["userid"],
        "department_wecom_ids": depts,
        "leader_wecom_ids": sorted(d for d, lead in zip(all_depts, leaders, strict=False)
                                   if lead and d in known),
        "mobile": user.get("mobile", ""),
        "email": user.get("email", "") or user.get("biz_mail", ""),
        "position": user.get("position", ""),
        "gender": int(user.get("gender") or 0),
        "status": (Employee.Status.RESIGNED if int(user.get("status") or 1) == EXITED
                   else Employee.Status.ACTIVE),
    }


def _employee_snapshot(employee: Employee) -> dict:
    links = list(employee.employeedepartment_set.all())
    main = employee.main_department.wecom_id if employee.main_department else None
    others = sorted(link.department.wecom_id for link in links
                    if link.department.wecom_id != main)
    return {
        "name": employee.name,
        "department_wecom_ids": ([main] if main is not None else []) + others,
        "leader_wecom_ids": sorted(link.department.wecom_id for link in links
                                   if link.is_leader),
        "mobile": employee.mobile, "email": employee.email, "position": employee.position,
        "gender": employee.gender, "status": employee.status,
    }


def _comparable(fields: dict) -> dict:
    depts = fields["department_wecom_ids"]
    return {**fields, "department_wecom_ids": depts[:1] + sorted(depts[1:])}


def apply_employees(ctx, members: list[dict], known_departments: set[int]) -> None:
    corp = ctx.corp
    local = {e.userid: e for e in Employee.objects.for_corp(corp)
             .select_related("main_department")
             .prefetch_related("employeedepartment_set__department")}
    for user in members:
        fields = _employee_fields(user, known_departments)
        existing = local.get(user["userid"])
        if existing is None or _comparable(_employee_snapshot(existing)) != _comparable(fields):
            employee_upsert(corp=corp, userid=user["userid"], **fields)
            ctx.count("employees", "created" if existing is None else "updated", fields["name"])
        ctx.progress(STAGE, add=1)
    listed = {user["userid"] for user in members}
    for employee in local.values():
        if employee.userid not in listed and employee.status == Employee.Status.ACTIVE:
            employee_resign(corp=corp, employee=employee)
            ctx.count("employees", "deleted", employee.name)
