"""Corp tags (企业标签) and marking customers with them."""

from siyu.wecom.simulator.api.customers import customer_or_error, member_or_error
from siyu.wecom.simulator.api.registry import route
from siyu.wecom.simulator.errors import ApiError

CONTACT = ("contact",)
MAX_NAME = 30


def _name(value, what) -> str:
    name = str(value or "").strip()
    if not name:
        raise ApiError(40058, f"{what} missing")
    if len(name) > MAX_NAME:
        raise ApiError(40058, f"{what} is at most {MAX_NAME} characters")
    return name


@route("externalcontact/get_corp_tag_list", kinds=CONTACT)
def get_corp_tag_list(sim, req):
    state = sim.state
    tag_ids, group_ids = req.list_arg("tag_id"), req.list_arg("group_id")
    result = []
    for group in state.tag_groups.values():
        if tag_ids:  # tag_id wins over group_id, as WeCom documents
            wanted = [t for t in group["tag_ids"] if t in tag_ids]
            if wanted:
                result.append(state.tag_group_json(group, only_tags=set(wanted)))
        elif not group_ids or group["group_id"] in group_ids:
            result.append(state.tag_group_json(group))
    return {"tag_group": result}


@route("externalcontact/add_corp_tag", kinds=CONTACT)
def add_corp_tag(sim, req):
    state = sim.state
    tags = req.list_arg("tag")
    if not tags:
        raise ApiError(40058, "tag missing")
    names = [_name(t.get("name") if isinstance(t, dict) else None, "tag name") for t in tags]
    if len(state.tags) + len(names) > sim.config.corp_tag_limit:
        raise ApiError(40126)
    group_id = req.arg("group_id")
    if group_id:
        group = state.tag_groups.get(group_id)
        if group is None:
            raise ApiError(40068, f"group_id {group_id}")
    else:
        group_name = _name(req.arg("group_name"), "group_name")
        group = next((g for g in state.tag_groups.values()
                      if g["group_name"] == group_name), None)
    existing = {state.tags[t]["name"] for t in group["tag_ids"]} if group else set()
    clash = [n for n in names if n in existing]
    if clash or len(set(names)) != len(names):
        raise ApiError(40071, ", ".join(clash) or "duplicate names in the request")
    if group is None:
        group_id = state.new_id("et", 32)
        group = state.tag_groups[group_id] = {
            "group_id": group_id, "group_name": group_name, "create_time": int(req.now),
            "order": req.int_arg("order", 0), "tag_ids": []}
    created = []
    for item, name in zip(tags, names, strict=True):
        tag_id = state.new_id("et", 32)
        state.tags[tag_id] = {"id": tag_id, "name": name, "group_id": group["group_id"],
                              "create_time": int(req.now), "order": int(item.get("order") or 0)}
        group["tag_ids"].append(tag_id)
        created.append(tag_id)
    return {"tag_group": state.tag_group_json(group, only_tags=set(created))}


@route("externalcontact/edit_corp_tag", kinds=CONTACT)
def edit_corp_tag(sim, req):
    state = sim.state
    item_id = req.arg("id")
    target = state.tags.get(item_id) or state.tag_groups.get(item_id)
    if target is None:
        raise ApiError(40068, f"id {item_id}")
    if "name" in req.body:
        name = _name(req.body["name"], "name")
        if item_id in state.tags:
            siblings = state.tag_groups[target["group_id"]]["tag_ids"]
            if any(state.tags[t]["name"] == name for t in siblings if t != item_id):
                raise ApiError(40071, name)
            target["name"] = name
        else:
            target["group_name"] = name
    if "order" in req.body:
        target["order"] = req.int_arg("order", 0)
    return {}


@route("externalcontact/del_corp_tag", kinds=CONTACT)
def del_corp_tag(sim, req):
    tag_ids, group_ids = req.list_arg("tag_id"), req.list_arg("group_id")
    if not tag_ids and not group_ids:
        raise ApiError(40058, "tag_id or group_id required")
    for item in tag_ids:
        if item not in sim.state.tags:
            raise ApiError(40068, item)
    for item in group_ids:
        if item not in sim.state.tag_groups:
            raise ApiError(40068, item)
    delete_tags(sim.state, tag_ids, group_ids)
    return {}


def delete_tags(state, tag_ids=(), group_ids=()) -> None:
    """Remove tags and groups; a group disappears with its last tag, as in WeCom."""
    for group_id in group_ids:
        group = state.tag_groups.pop(group_id, None)
        for tag_id in group["tag_ids"] if group else ():
            state.tags.pop(tag_id, None)
    for tag_id in tag_ids:
        tag = state.tags.pop(tag_id, None)
        group = tag and state.tag_groups.get(tag["group_id"])
        if group:
            group["tag_ids"].remove(tag_id)
            if not group["tag_ids"]:
                del state.tag_groups[group["group_id"]]


@route("externalcontact/mark_tag", kinds=CONTACT)
def mark_tag(sim, req):
    state = sim.state
    userid, ext = req.arg("userid"), req.arg("external_userid")
    member_or_error(state, userid)
    customer_or_error(state, ext)
    follow = state.follows[ext].get(userid)
    if follow is None:
        raise ApiError(84061, f"{userid} does not follow {ext}")
    add, remove = req.list_arg("add_tag"), req.list_arg("remove_tag")
    if not add and not remove:
        raise ApiError(40058, "add_tag or remove_tag required")
    for tag_id in (*add, *remove):
        if tag_id not in state.tags:
            raise ApiError(40068, tag_id)
    follow["tag_ids"] = [t for t in follow["tag_ids"] if t not in remove]
    follow["tag_ids"] += [t for t in add if t not in follow["tag_ids"]]
    state.tag_marks.append({"userid": userid, "external_userid": ext, "add_tag": add,
                            "remove_tag": remove, "at": req.now})
    return {}
