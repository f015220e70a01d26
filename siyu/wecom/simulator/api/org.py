"""Departments and members (通讯录 reads) and the members with customer contact enabled."""

from siyu.wecom.simulator.api.registry import route
from siyu.wecom.simulator.errors import ApiError


def _subtree(state, root: int) -> set[int]:
    ids, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for dept in state.departments.values():
            if dept["parentid"] == parent and dept["id"] not in ids:
                ids.add(dept["id"])
                frontier.append(dept["id"])
    return ids


@route("department/list")
def department_list(sim, req):
    state = sim.state
    dept_id = req.arg("id")
    if dept_id in (None, ""):
        ids = set(state.departments)
    else:
        dept_id = req.int_arg("id", 0)
        if dept_id not in state.departments:
            raise ApiError(60123, "department not found")
        ids = _subtree(state, dept_id)
    return {"department": [dict(state.departments[i]) for i in sorted(ids)]}


def _members(sim, req) -> list[dict]:
    state = sim.state
    dept_id = req.int_arg("department_id", 0)
    if dept_id not in state.departments:
        raise ApiError(60123, "department_id not found")
    depts = _subtree(state, dept_id) if str(req.arg("fetch_child", "0")) == "1" else {dept_id}
    return [u for u in state.users.values() if depts & set(u["department"])]


@route("user/list")
def user_list(sim, req):
    return {"userlist": [dict(u) for u in _members(sim, req)]}


@route("user/simplelist")
def user_simplelist(sim, req):
    return {"userlist": [{"userid": u["userid"], "name": u["name"],
                          "department": u["department"], "open_userid": ""}
                         for u in _members(sim, req)]}


@route("user/get")
def user_get(sim, req):
    userid = req.required("userid", 41009)
    user = sim.state.users.get(userid)
    if user is None:
        raise ApiError(60111, userid)
    return dict(user)


@route("externalcontact/get_follow_user_list", kinds=("contact",))
def get_follow_user_list(sim, req):
    return {"follow_user": sim.state.active_userids()}
