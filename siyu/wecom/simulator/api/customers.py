"""Customers: get, list, batch/get_by_user (how a full sync pages through a corp), remark."""

from siyu.wecom.simulator.api.registry import check_limit, page, route
from siyu.wecom.simulator.errors import ApiError

CONTACT = ("contact",)


def customer_or_error(state, ext) -> dict:
    if not ext:
        raise ApiError(41035)
    if ext not in state.customers:
        raise ApiError(40096 if not str(ext).startswith(("wm", "wo")) else 84061, ext)
    return state.customers[ext]


def member_or_error(state, userid) -> dict:
    if not userid:
        raise ApiError(41009)
    if userid not in state.users:
        raise ApiError(60111, userid)
    return state.users[userid]


@route("externalcontact/get", kinds=CONTACT)
def get(sim, req):
    state = sim.state
    ext = req.arg("external_userid")
    contact = customer_or_error(state, ext)
    follows = state.follows.get(ext) or {}
    if not follows:
        raise ApiError(84061, ext)
    return {"external_contact": dict(contact),
            "follow_user": [state.follow_json(f) for f in follows.values()],
            "next_cursor": ""}


@route("externalcontact/list", kinds=CONTACT)
def list_(sim, req):
    state = sim.state
    userid = req.arg("userid")
    member_or_error(state, userid)
    ids = state.customers_of(userid)
    if not ids:
        raise ApiError(84061, f"{userid} has no customers")
    return {"external_userid": ids}


@route("externalcontact/batch/get_by_user", kinds=CONTACT)
def batch_get_by_user(sim, req):
    state = sim.state
    userids = req.list_arg("userid_list")
    if not userids:
        raise ApiError(40058, "userid_list missing")
    if len(userids) > 100:
        raise ApiError(40058, "at most 100 userids")
    for userid in userids:
        member_or_error(state, userid)
    limit = check_limit(req, "limit", 50, 100)
    # One pass over the relations (a mirrored demo corp has thousands), in a stable order.
    theirs: dict[str, list] = {userid: [] for userid in userids}
    for ext, follows in state.follows.items():
        for userid in follows:
            if userid in theirs:
                theirs[userid].append(ext)
    pairs = [(ext, userid) for userid, exts in theirs.items() for ext in exts]
    chunk, next_cursor = page(pairs, req.arg("cursor"), limit)
    return {"external_contact_list": [
        {"external_contact": dict(state.customers[ext]),
         "follow_info": state.follow_info_json(state.follows[ext][userid])}
        for ext, userid in chunk], "next_cursor": next_cursor}


@route("externalcontact/remark", kinds=CONTACT)
def remark(sim, req):
    state = sim.state
    userid, ext = req.arg("userid"), req.arg("external_userid")
    member_or_error(state, userid)
    customer_or_error(state, ext)
    follow = state.follows[ext].get(userid)
    if follow is None:
        raise ApiError(84061, f"{userid} does not follow {ext}")
    changes = {}
    for name, key, maximum in (("remark", "remark", 20), ("description", "description", 150),
                               ("remark_company", "remark_corp_name", 20)):
        if name in req.body:
            value = str(req.body[name] or "")
            if len(value) > maximum:
                raise ApiError(40058, f"{name} is at most {maximum} characters")
            changes[key] = value
    if "remark_mobiles" in req.body:
        mobiles = req.list_arg("remark_mobiles")
        if len(mobiles) > 5:
            raise ApiError(40058, "at most 5 remark_mobiles")
        changes["remark_mobiles"] = [str(m) for m in mobiles]
    follow.update(changes)
    state.remarks.append({"userid": userid, "external_userid": ext, "changes": changes,
                          "at": req.now})
    return {}
