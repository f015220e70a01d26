"""「联系我」contact ways and group join ways (群活码)."""

from siyu.wecom.simulator.api.customers import member_or_error
from siyu.wecom.simulator.api.registry import check_limit, page, route
from siyu.wecom.simulator.errors import ApiError

CONTACT = ("contact",)
MAX_TEMP_EXPIRES = 14 * 86400
CONTACT_WAY_QUOTA = 500_000
WAY_FIELDS = ("style", "remark", "skip_verify", "state", "user", "party", "is_temp",
              "expires_in", "chat_expires_in", "unionid", "conclusions")


def check_state(value) -> str:
    value = "" if value is None else str(value)
    if len(value) > 30:
        raise ApiError(40058, "state is at most 30 characters")
    return value


def _expand_users(sim, users, parties) -> list[str]:
    state = sim.state
    for userid in users:
        member_or_error(state, userid)
    expanded = list(dict.fromkeys(users))
    for party in parties:
        if party not in state.departments:
            raise ApiError(60123, f"party {party}")
        expanded += [u for u, m in state.users.items() if party in m["department"]]
    expanded = list(dict.fromkeys(expanded))
    if len(expanded) > 100:
        raise ApiError(41041)
    return expanded


def _check_way(sim, way: dict):
    way["state"] = check_state(way.get("state"))
    if len(str(way.get("remark") or "")) > 30:
        raise ApiError(40058, "remark is at most 30 characters")
    users, parties = way.get("user") or [], way.get("party") or []
    if not isinstance(users, list) or not isinstance(parties, list):
        raise ApiError(40058, "user and party must be lists")
    expanded = _expand_users(sim, users, parties)
    if not expanded:
        raise ApiError(40058, "user or party required")
    if way["type"] == 1 and (len(users) != 1 or parties):
        raise ApiError(40058, "type 1 takes exactly one user")
    if way.get("is_temp"):
        expires = int(way.get("expires_in") or 7 * 86400)
        if not 0 < expires <= MAX_TEMP_EXPIRES:
            raise ApiError(40058, "expires_in is at most 14 days")
        way["expires_in"] = expires


@route("externalcontact/add_contact_way", kinds=CONTACT)
def add_contact_way(sim, req):
    state = sim.state
    if req.arg("type") is None:
        raise ApiError(41037)
    if req.arg("scene") is None:
        raise ApiError(41038)
    way_type, scene = req.int_arg("type", 0), req.int_arg("scene", 0)
    if way_type not in (1, 2):
        raise ApiError(41039)
    if scene not in (1, 2):
        raise ApiError(41040)
    if len(state.contact_ways) >= CONTACT_WAY_QUOTA:
        raise ApiError(41045)
    way = {k: req.body[k] for k in WAY_FIELDS if k in req.body}
    way.update(type=way_type, scene=scene)
    way.setdefault("skip_verify", True)
    _check_way(sim, way)
    config_id = state.new_id("", 32).lower()
    way["config_id"] = config_id
    way["created_at"] = req.now
    result = {"config_id": config_id}
    if scene == 2:
        way["qr_code"] = result["qr_code"] = sim.qr_url(config_id)
    state.contact_ways[config_id] = way
    return result


def way_or_error(sim, config_id) -> dict:
    if not config_id:
        raise ApiError(41043)
    way = sim.state.contact_ways.get(config_id)
    if way is None:
        raise ApiError(41044, config_id)
    return way


@route("externalcontact/get_contact_way", kinds=CONTACT)
def get_contact_way(sim, req):
    way = way_or_error(sim, req.arg("config_id"))
    return {"contact_way": {k: v for k, v in way.items() if k != "created_at"}}


@route("externalcontact/update_contact_way", kinds=CONTACT)
def update_contact_way(sim, req):
    way = way_or_error(sim, req.arg("config_id"))
    updated = dict(way)
    updated.update({k: req.body[k] for k in WAY_FIELDS if k in req.body and k != "is_temp"})
    _check_way(sim, updated)
    way.update(updated)
    return {}


@route("externalcontact/del_contact_way", kinds=CONTACT)
def del_contact_way(sim, req):
    way = way_or_error(sim, req.arg("config_id"))
    del sim.state.contact_ways[way["config_id"]]
    return {}


@route("externalcontact/list_contact_way", kinds=CONTACT)
def list_contact_way(sim, req):
    limit = check_limit(req, "limit", 100, 1000)
    start, end = req.int_arg("start_time", 0), req.int_arg("end_time", 0)
    ways = [w for w in sim.state.contact_ways.values()
            if (not start or w["created_at"] >= start) and (not end or w["created_at"] <= end)]
    chunk, next_cursor = page(ways, req.arg("cursor"), limit)
    return {"contact_way": [{"config_id": w["config_id"]} for w in chunk],
            "next_cursor": next_cursor}


# -- group join ways ------------------------------------------------------------------------
JOIN_FIELDS = ("scene", "remark", "auto_create_room", "room_base_name", "room_base_id",
               "chat_id_list", "state")


def _check_join_way(sim, way: dict):
    if int(way.get("scene") or 0) not in (1, 2):
        raise ApiError(40058, "scene must be 1 or 2")
    way["state"] = check_state(way.get("state"))
    chats = way.get("chat_id_list") or []
    if not isinstance(chats, list) or not chats:
        raise ApiError(40058, "chat_id_list missing")
    if len(chats) > 5:
        raise ApiError(40058, "at most 5 chats in chat_id_list")
    for chat_id in chats:
        if chat_id not in sim.state.chats:
            raise ApiError(40050, chat_id)
    way.setdefault("auto_create_room", 1)


@route("externalcontact/groupchat/add_join_way", kinds=CONTACT)
def add_join_way(sim, req):
    way = {k: req.body[k] for k in JOIN_FIELDS if k in req.body}
    _check_join_way(sim, way)
    config_id = sim.state.new_id("", 32).lower()
    way.update(config_id=config_id, qr_code=sim.qr_url(config_id))
    sim.state.join_ways[config_id] = way
    return {"config_id": config_id}


def join_way_or_error(sim, config_id) -> dict:
    if not config_id:
        raise ApiError(41043)
    way = sim.state.join_ways.get(config_id)
    if way is None:
        raise ApiError(41044, config_id)
    return way


@route("externalcontact/groupchat/get_join_way", kinds=CONTACT)
def get_join_way(sim, req):
    return {"join_way": dict(join_way_or_error(sim, req.arg("config_id")))}


@route("externalcontact/groupchat/update_join_way", kinds=CONTACT)
def update_join_way(sim, req):
    way = join_way_or_error(sim, req.arg("config_id"))
    updated = dict(way)
    updated.update({k: req.body[k] for k in JOIN_FIELDS if k in req.body})
    _check_join_way(sim, updated)
    way.update(updated)
    return {}


@route("externalcontact/groupchat/del_join_way", kinds=CONTACT)
def del_join_way(sim, req):
    way = join_way_or_error(sim, req.arg("config_id"))
    del sim.state.join_ways[way["config_id"]]
    return {}
