"""Tickets for the JS-SDK, employee OAuth login, and statistics."""

import hashlib

from siyu.wecom.simulator.api.customers import member_or_error
from siyu.wecom.simulator.api.registry import route
from siyu.wecom.simulator.errors import ApiError

CONTACT = ("contact",)
DAY = 86400


def _ticket(sim, kind: str) -> dict:
    token, expires_in = sim.tickets.issue(kind)
    return {"ticket": token, "expires_in": expires_in}


@route("get_jsapi_ticket")
def get_jsapi_ticket(sim, req):
    return _ticket(sim, "jsapi")


@route("ticket/get")
def ticket_get(sim, req):
    if req.arg("type") != "agent_config":
        raise ApiError(91040, "type must be agent_config")
    return _ticket(sim, "agent_config")


@route("auth/getuserinfo", "user/getuserinfo")
def auth_getuserinfo(sim, req):
    code = req.arg("code")
    if not code:
        raise ApiError(41008)
    issued = sim.state.login_codes.pop(code, None)
    if issued is None or issued["expires"] < req.now:
        raise ApiError(40029, "code unknown, used or older than 5 minutes")
    return {"userid": issued["userid"], "user_ticket": sim.state.new_id("tk", 40)}


def _number(*parts, modulo: int) -> int:
    """Deterministic statistics: the same member and day always give the same numbers."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") % modulo


def _days(req, start_name, end_name, max_days) -> list[int]:
    start, end = req.int_arg(start_name, 0), req.int_arg(end_name, 0)
    if not start or not end or end < start:
        raise ApiError(40058, f"{start_name} and {end_name} required, start before end")
    if (end - start) > max_days * DAY:
        raise ApiError(40058, f"the span is at most {max_days} days")
    if start < req.now - 180 * DAY:
        raise ApiError(40058, "only the last 180 days are kept")
    first = start - start % DAY
    return list(range(first, end + 1, DAY))


@route("externalcontact/get_user_behavior_data", kinds=CONTACT)
def get_user_behavior_data(sim, req):
    state = sim.state
    users = list(req.list_arg("userid"))
    for party in req.list_arg("partyid"):
        users += [u for u, m in state.users.items() if party in m["department"]]
    if not users:
        raise ApiError(40058, "userid or partyid required")
    for userid in users:
        member_or_error(state, userid)
    rows = []
    for day in _days(req, "start_time", "end_time", 30):
        totals = dict.fromkeys(("new_apply_cnt", "new_contact_cnt", "chat_cnt", "message_cnt",
                                "negative_feedback_cnt"), 0)
        for userid in dict.fromkeys(users):
            added = state.behavior_adds[(userid, day)]
            totals["new_contact_cnt"] += _number(userid, day, "c", modulo=5) + added
            totals["new_apply_cnt"] += _number(userid, day, "a", modulo=6) + added
            totals["chat_cnt"] += _number(userid, day, "t", modulo=30)
            totals["message_cnt"] += _number(userid, day, "m", modulo=200)
            totals["negative_feedback_cnt"] += _number(userid, day, "n", modulo=2)
        rows.append({"stat_time": day, **totals,
                     "reply_percentage": 50 + _number(day, "r", modulo=50),
                     "avg_reply_time": 1 + _number(day, "v", modulo=30)})
    return {"behavior_data": rows}


def _group_stats(sim, owner: str, day: int) -> dict:
    chats = [c for c in sim.state.chats.values() if c["owner"] == owner]
    members = sum(len(c["member_list"]) for c in chats)
    return {"new_chat_cnt": sum(1 for c in chats if day <= c["create_time"] < day + DAY),
            "chat_total": len(chats), "chat_has_msg": _number(owner, day, modulo=len(chats) + 1),
            "new_member_cnt": _number(owner, day, "n", modulo=4), "member_total": members,
            "member_has_msg": _number(owner, day, "h", modulo=members + 1),
            "msg_total": _number(owner, day, "m", modulo=300), "migrate_trainee_chat_cnt": 0}


def _owners(sim, req) -> list[str]:
    owners = (req.arg("owner_filter") or {}).get("userid_list") or []
    if not owners:
        raise ApiError(40058, "owner_filter.userid_list required")
    for userid in owners:
        member_or_error(sim.state, userid)
    return owners


@route("externalcontact/groupchat/statistic", kinds=CONTACT)
def groupchat_statistic(sim, req):
    days = _days(req, "day_begin_time", "day_end_time", 30)
    owners = _owners(sim, req)
    items = []
    for owner in owners:
        data: dict = {}
        for day in days:
            for key, value in _group_stats(sim, owner, day).items():
                data[key] = value if key in ("chat_total", "member_total") \
                    else data.get(key, 0) + value
        items.append({"owner": owner, "data": data})
    offset, limit = req.int_arg("offset", 0), req.int_arg("limit", 500) or 500
    chunk = items[offset:offset + limit]
    return {"total": len(items), "next_offset": offset + len(chunk), "items": chunk}


@route("externalcontact/groupchat/statistic_group_by_day", kinds=CONTACT)
def groupchat_statistic_group_by_day(sim, req):
    days = _days(req, "day_begin_time", "day_end_time", 30)
    owners = _owners(sim, req)
    items = []
    for day in days:
        data: dict = {}
        for owner in owners:
            for key, value in _group_stats(sim, owner, day).items():
                data[key] = data.get(key, 0) + value
        items.append({"stat_time": day, "data": data})
    return {"items": items}
