"""What customers and employees do in WeCom, each changing the simulated state and sending the
callback WeCom would send. Used by POST /sim/actions/<name>, the tests and the random loop."""

import asyncio
import logging

from siyu.wecom.simulator import burst as burst_module
from siyu.wecom.simulator.api import mass
from siyu.wecom.simulator.api.contact_way import check_state
from siyu.wecom.simulator.api.tags import delete_tags
from siyu.wecom.simulator.errors import ApiError
from siyu.wecom.simulator.population import group_member, new_customer, new_follow

log = logging.getLogger(__name__)
ACTIONS: dict = {}
CONTACT = "change_external_contact"
CHAT = "change_external_chat"
TAG = "change_external_tag"
LOGIN_CODE_TTL = 300


class ActionError(ValueError):
    """The action cannot be done as asked (answered with HTTP 400 and this message)."""


def action(fn):
    ACTIONS[fn.__name__] = fn
    return fn


def _user(sim, userid=None, *, active=True) -> str:
    if userid is None:
        choices = sim.state.active_userids()
        if not choices:
            raise ActionError("The simulated enterprise has no active members.")
        return sim.state.rng.choice(choices)
    user = sim.state.users.get(userid)
    if user is None:
        raise ActionError(f"No member with userid {userid!r}.")
    if active and user["status"] != 1:
        raise ActionError(f"Member {userid!r} is not active.")
    return userid


def _relation(sim, userid=None, external_userid=None) -> tuple[str, str]:
    """A (userid, external_userid) pair that exists: the given one or a random one."""
    follows = sim.state.follows
    if userid is None and external_userid is None:
        pairs = [(u, ext) for ext, f in follows.items() for u in f]
        if not pairs:
            raise ActionError("No customer relationship exists.")
        return sim.state.rng.choice(pairs)
    if external_userid is None:
        theirs = sim.state.customers_of(_user(sim, userid, active=False))
        if not theirs:
            raise ActionError(f"Member {userid!r} has no customers.")
        return userid, sim.state.rng.choice(theirs)
    if userid is None:
        users = list(follows.get(external_userid, {}))
        if not users:
            raise ActionError(f"Nobody follows {external_userid!r}.")
        return sim.state.rng.choice(users), external_userid
    if userid not in follows.get(external_userid, {}):
        raise ActionError(f"{userid!r} does not follow {external_userid!r}.")
    return userid, external_userid


@action
def add_customer(sim, userid=None, state="", external_userid=None, name=None,
                 welcome_code=True, half=False, add_way=None, duplicate=None):
    """A customer adds a member (e.g. by scanning a code with ``state``): add_external_contact
    with State and a fresh WelcomeCode (valid ``welcome_code_ttl`` seconds, usable once)."""
    st, now = sim.state, sim.clock.now()
    userid = _user(sim, userid)
    try:
        state = check_state(state)
    except ApiError as err:
        raise ActionError("state is at most 30 characters.") from err
    if external_userid and external_userid in st.customers:
        if userid in st.follows[external_userid]:
            raise ActionError(f"{userid!r} already follows {external_userid!r}.")
    else:
        contact = new_customer(st, st.rng, name=name)
        if external_userid:  # keep the id the caller chose
            st.customers[external_userid] = dict(contact, external_userid=external_userid)
            st.follows[external_userid] = st.follows.pop(contact["external_userid"])
            del st.customers[contact["external_userid"]]
        external_userid = external_userid or contact["external_userid"]
    st.follows[external_userid][userid] = new_follow(
        userid=userid, createtime=now, state=state,
        add_way=int(add_way) if add_way is not None else 1)
    st.behavior_adds[(userid, int(now - now % 86400))] += 1
    code = None
    if welcome_code:  # add_half_external_contact carries one too (wecom-api.md §3)
        code = st.new_id("", 43)
        st.welcome_codes[code] = {"issued_at": now, "userid": userid,
                                  "external_userid": external_userid, "state": state,
                                  "used_at": None}
    record = sim.emit({"event": CONTACT, "CreateTime": int(now),
                       "ChangeType": "add_half_external_contact" if half
                       else "add_external_contact",
                       "UserID": userid, "ExternalUserID": external_userid,
                       "State": state or None, "WelcomeCode": code}, duplicate=duplicate)
    return {"userid": userid, "external_userid": external_userid, "state": state,
            "welcome_code": code, "callback_id": record["id"]}


def _contact_way(sim, config_id=None, state=None) -> dict:
    if config_id:
        way = sim.state.contact_ways.get(config_id)
    else:
        way = next((w for w in sim.state.contact_ways.values()
                    if state is not None and w.get("state") == state), None)
    if way is None:
        raise ActionError("No contact way with that config_id or state.")
    return way


@action
def scan_contact_way(sim, config_id=None, state=None, **options):
    """A customer scans a contact way, found by config_id or by its state."""
    way = _contact_way(sim, config_id, state)
    users = list(way.get("user") or [])
    for party in way.get("party") or []:
        users += [u for u, m in sim.state.users.items() if party in m["department"]]
    users = [u for u in dict.fromkeys(users) if sim.state.users[u]["status"] == 1]
    if not users:
        raise ActionError("Nobody active is behind that contact way.")
    return add_customer(sim, userid=sim.state.rng.choice(users), state=way.get("state", ""),
                        **options)


def scan_way(sim, config_id: str) -> dict:
    """Someone scanned the QR code of a contact way (a new customer adds one of its members)
    or of a group join way (a customer joins one of its groups): what /sim/scan/ does."""
    if config_id in sim.state.contact_ways:
        return dict(scan_contact_way(sim, config_id=config_id), kind="contact_way")
    way = sim.state.join_ways.get(config_id)
    if way is None:
        raise ActionError(f"No contact or join way {config_id!r}.")
    # simulator/join_ways.py registers it: WeCom's choice of the group with room.
    scan_join_way = ACTIONS.get("scan_join_way")
    if scan_join_way is not None:
        return dict(scan_join_way(sim, config_id=config_id), kind="join_way")
    chats = way.get("chat_id_list") or []
    if not chats:
        raise ActionError("That join way lists no group.")
    return dict(join_group(sim, chat_id=chats[0]), kind="join_way")


@action
def burst(sim, config_id=None, state=None, rate=150, seconds=60, count=None,
          senders=burst_module.DEFAULT_SENDERS):
    """Customers scan one contact way at ``rate`` per second for ``seconds`` (or ``count``
    scans), each at its exact scheduled time; answers at once (see simulator/burst.py)."""
    way = _contact_way(sim, config_id, state)
    rate, senders = float(rate), int(senders)
    count = int(count) if count is not None else round(rate * float(seconds))
    if not rate > 0 or not 0 < count <= burst_module.MAX_EVENTS or senders < 1:
        raise ActionError(f"Give a positive rate, 1 to {burst_module.MAX_EVENTS} scans and at "
                          "least one sender.")
    try:
        started = sim.bursts.start(config_id=way["config_id"], state=way.get("state", ""),
                                   rate=rate, count=count, senders=senders)
    except RuntimeError as exc:  # no running loop: only the server can run a burst
        raise ActionError("A burst runs on the simulator server's event loop.") from exc
    return started.as_dict()


@action
def delete_customer(sim, userid=None, external_userid=None, duplicate=None):
    """The member deletes the customer: del_external_contact."""
    userid, external_userid = _relation(sim, userid, external_userid)
    del sim.state.follows[external_userid][userid]
    record = sim.emit({"event": CONTACT, "ChangeType": "del_external_contact",
                       "UserID": userid, "ExternalUserID": external_userid},
                      duplicate=duplicate)
    return {"userid": userid, "external_userid": external_userid, "callback_id": record["id"]}


@action
def customer_deletes_employee(sim, userid=None, external_userid=None, duplicate=None):
    """The customer deletes or blocks the member: del_follow_user."""
    userid, external_userid = _relation(sim, userid, external_userid)
    del sim.state.follows[external_userid][userid]
    record = sim.emit({"event": CONTACT, "ChangeType": "del_follow_user",
                       "UserID": userid, "ExternalUserID": external_userid},
                      duplicate=duplicate)
    return {"userid": userid, "external_userid": external_userid, "callback_id": record["id"]}


def _tag_ids(sim, names_or_ids) -> list[str]:
    ids = []
    for item in names_or_ids or []:
        if item in sim.state.tags:
            ids.append(item)
            continue
        match = [t for t, tag in sim.state.tags.items() if tag["name"] == item]
        if not match:
            raise ActionError(f"No corp tag {item!r}.")
        ids.append(match[0])
    return ids


@action
def edit_customer(sim, userid=None, external_userid=None, remark=None, add_tags=(),
                  remove_tags=(), duplicate=None):
    """The member edits the customer in the client (remark, corp tags): edit_external_contact."""
    userid, external_userid = _relation(sim, userid, external_userid)
    follow = sim.state.follows[external_userid][userid]
    add, remove = _tag_ids(sim, add_tags), _tag_ids(sim, remove_tags)
    if not add and not remove and remark is None:
        tags = list(sim.state.tags)
        if not tags:
            raise ActionError("There are no corp tags to add.")
        add = [sim.state.rng.choice(tags)]
    follow["tag_ids"] = [t for t in follow["tag_ids"] if t not in remove]
    follow["tag_ids"] += [t for t in add if t not in follow["tag_ids"]]
    if remark is not None:
        follow["remark"] = str(remark)[:20]
    record = sim.emit({"event": CONTACT, "ChangeType": "edit_external_contact",
                       "UserID": userid, "ExternalUserID": external_userid},
                      duplicate=duplicate)
    return {"userid": userid, "external_userid": external_userid, "add_tag": add,
            "remove_tag": remove, "callback_id": record["id"]}


def _chat(sim, chat_id=None) -> dict:
    chats = [c for c in sim.state.chats.values() if c["status"] != -1]
    if chat_id is None:
        if not chats:
            raise ActionError("There are no customer groups.")
        return sim.state.rng.choice(chats)
    chat = sim.state.chats.get(chat_id)
    if chat is None:
        raise ActionError(f"No customer group {chat_id!r}.")
    return chat


def _as_list(value) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@action
def join_group(sim, chat_id=None, external_userid=None, join_scene=3, member_format=None,
               duplicate=None):
    """Customers join a group (3 = scanned a QR code, 0 = invited by a member):
    change_external_chat update/add_member with MemChangeList."""
    chat = _chat(sim, chat_id)
    present = {m["userid"] for m in chat["member_list"]}
    joiners = _as_list(external_userid)
    if not joiners:
        outside = [ext for ext in sim.state.customers if ext not in present]
        if not outside:
            raise ActionError("Every customer is already in that group.")
        joiners = [sim.state.rng.choice(outside)]
    joiners = [j for j in dict.fromkeys(joiners) if j not in present]
    if not joiners:
        raise ActionError("They are already members of that group.")
    if len(chat["member_list"]) + len(joiners) > sim.config.group_max_members:
        raise ActionError(f"The group would exceed {sim.config.group_max_members} members.")
    now = int(sim.clock.now())
    scene = int(join_scene)
    for ext in joiners:
        member_type = 1 if ext in sim.state.users else 2
        chat["member_list"].append(group_member(
            ext, member_type, now, 3 if scene == 3 else 1, chat["owner"],
            unionid=sim.state.customers.get(ext, {}).get("unionid", "")))
    record = sim.emit({"event": CHAT, "ChatId": chat["chat_id"], "ChangeType": "update",
                       "UpdateDetail": "add_member", "JoinScene": scene,
                       "MemChangeCnt": len(joiners), "MemChangeList": joiners},
                      member_format=member_format, duplicate=duplicate)
    return {"chat_id": chat["chat_id"], "members": joiners, "callback_id": record["id"],
            "member_format": record["member_format"]}


@action
def quit_group(sim, chat_id=None, userid=None, quit_scene=0, member_format=None,
               duplicate=None):
    """Members leave (0) or are removed (1): change_external_chat update/del_member."""
    chat = _chat(sim, chat_id)
    leavers = _as_list(userid)
    if not leavers:
        externals = [m["userid"] for m in chat["member_list"] if m["type"] == 2]
        if not externals:
            raise ActionError("That group has no customers to leave.")
        leavers = [sim.state.rng.choice(externals)]
    present = {m["userid"] for m in chat["member_list"]}
    missing = [u for u in leavers if u not in present]
    if missing:
        raise ActionError(f"Not members of that group: {', '.join(missing)}.")
    if chat["owner"] in leavers:
        raise ActionError("The owner cannot leave the group.")
    chat["member_list"] = [m for m in chat["member_list"] if m["userid"] not in leavers]
    record = sim.emit({"event": CHAT, "ChatId": chat["chat_id"], "ChangeType": "update",
                       "UpdateDetail": "del_member", "QuitScene": int(quit_scene),
                       "MemChangeCnt": len(leavers), "MemChangeList": leavers},
                      member_format=member_format, duplicate=duplicate)
    return {"chat_id": chat["chat_id"], "members": leavers, "callback_id": record["id"],
            "member_format": record["member_format"]}


@action
def create_group(sim, owner=None, name=None, external_userid=None):
    """A member creates a customer group: change_external_chat create."""
    owner = _user(sim, owner)
    now = int(sim.clock.now())
    chat_id = sim.state.new_id("wr", 32)
    members = [group_member(owner, 1, now, 1, owner)]
    members += [group_member(ext, 2, now, 1, owner) for ext in _as_list(external_userid)]
    name = name or f"新客户群{len(sim.state.chats) + 1}"
    sim.state.chats[chat_id] = {"chat_id": chat_id, "name": name, "owner": owner,
                                "create_time": now, "notice": "", "status": 0,
                                "member_list": members, "admin_list": []}
    record = sim.emit({"event": CHAT, "ChatId": chat_id, "ChangeType": "create"})
    return {"chat_id": chat_id, "callback_id": record["id"]}


@action
def rename_group(sim, chat_id=None, name=None):
    chat = _chat(sim, chat_id)
    chat["name"] = name or chat["name"] + "（改）"
    record = sim.emit({"event": CHAT, "ChatId": chat["chat_id"], "ChangeType": "update",
                       "UpdateDetail": "change_name"})
    return {"chat_id": chat["chat_id"], "name": chat["name"], "callback_id": record["id"]}


@action
def dismiss_group(sim, chat_id=None):
    chat = _chat(sim, chat_id)
    del sim.state.chats[chat["chat_id"]]
    record = sim.emit({"event": CHAT, "ChatId": chat["chat_id"], "ChangeType": "dismiss"})
    return {"chat_id": chat["chat_id"], "callback_id": record["id"]}


@action
def edit_tags(sim, op="create", tag_type="tag", id=None, name=None, group_id=None,
              duplicate=None):
    """An admin changes corp tags in WeCom's console: change_external_tag (create, update,
    delete, shuffle) for a tag or a tag group."""
    st, now = sim.state, int(sim.clock.now())
    events = []
    if op == "create":
        if tag_type == "tag_group" or not st.tag_groups:
            group_id = st.new_id("et", 32)
            st.tag_groups[group_id] = {"group_id": group_id, "group_name": name or "新标签组",
                                       "create_time": now, "order": len(st.tag_groups),
                                       "tag_ids": []}
            tag_name = "新标签"
            events.append(("tag_group", group_id))
        else:
            group_id = group_id or st.rng.choice(list(st.tag_groups))
            if group_id not in st.tag_groups:
                raise ActionError(f"No tag group {group_id!r}.")
            tag_name = name or f"新标签{len(st.tags) + 1}"
        tag_id = st.new_id("et", 32)
        st.tags[tag_id] = {"id": tag_id, "name": tag_name[:30], "group_id": group_id,
                           "create_time": now, "order": 0}
        st.tag_groups[group_id]["tag_ids"].append(tag_id)
        if tag_type == "tag":
            events.append(("tag", tag_id))
    elif op in ("update", "delete"):
        pool = st.tag_groups if tag_type == "tag_group" else st.tags
        item = id or (st.rng.choice(list(pool)) if pool else None)
        if item not in pool:
            raise ActionError(f"No {tag_type} {item!r}.")
        if op == "update":
            key = "group_name" if tag_type == "tag_group" else "name"
            pool[item][key] = (name or pool[item][key] + "（改）")[:30]
            events.append((tag_type, item))
        else:
            group = None if tag_type == "tag_group" else st.tags[item]["group_id"]
            delete_tags(st, *(((), [item]) if tag_type == "tag_group" else ([item], ())))
            events.append((tag_type, item))
            if group and group not in st.tag_groups:  # the group went with its last tag
                events.append(("tag_group", group))
    elif op == "shuffle":
        group_id = group_id or (st.rng.choice(list(st.tag_groups)) if st.tag_groups else None)
        if group_id not in st.tag_groups:
            raise ActionError(f"No tag group {group_id!r}.")
        st.rng.shuffle(st.tag_groups[group_id]["tag_ids"])
        for order, tag_id in enumerate(st.tag_groups[group_id]["tag_ids"]):
            st.tags[tag_id]["order"] = order
        events.append(("tag_group", group_id))
    else:
        raise ActionError("op must be create, update, delete or shuffle.")
    ids = [sim.emit({"event": TAG, "Id": item, "TagType": kind, "ChangeType": op},
                    duplicate=duplicate)["id"] for kind, item in events]
    return {"op": op, "changed": [{"tag_type": k, "id": i} for k, i in events],
            "callback_ids": ids}


@action
def confirm_mass_message(sim, msgid=None, userid=None):
    """The member confirms a mass message in the client, so it reaches the customers."""
    try:
        return {"sent": mass.confirm_mass_message(sim, msgid, userid)}
    except ApiError as err:
        raise ActionError(err.errmsg) from err


@action
def confirm_moment(sim, moment_id=None, userid=None):
    try:
        return {"published": mass.confirm_moment(sim, moment_id, userid)}
    except ApiError as err:
        raise ActionError(err.errmsg) from err


@action
def login_code(sim, userid=None):
    """An OAuth code for auth/getuserinfo, as WeCom gives the browser after sign-in."""
    userid = _user(sim, userid)
    code = sim.state.new_id("", 32)
    sim.state.login_codes[code] = {"userid": userid, "expires": sim.clock.now() + LOGIN_CODE_TTL}
    return {"code": code, "userid": userid}


@action
def expire_tokens(sim):
    sim.tickets.expire_all()
    return {"expired": sim.tokens.expire_all()}


@action
def advance_clock(sim, seconds=0):
    now = sim.clock.advance(float(seconds))
    sim.settle()
    return {"now": now, "offset": sim.clock.offset}


@action
def reset_limits(sim):
    sim.limiter.reset()
    return {}


def run(sim, name: str, params: dict) -> dict:
    fn = ACTIONS.get(name)
    if fn is None:
        raise ActionError(f"Unknown action {name!r}; known: {', '.join(sorted(ACTIONS))}.")
    try:
        return fn(sim, **params)
    except TypeError as exc:
        raise ActionError(f"Bad parameters for {name}: {exc}.") from exc


# -- random customers -----------------------------------------------------------------------
RANDOM_MIX = (("scan", 45), ("edit_customer", 15), ("join_group", 12), ("quit_group", 6),
              ("customer_deletes_employee", 5), ("delete_customer", 4), ("edit_tags", 3),
              ("confirm", 10))


def random_action(sim) -> dict:
    st = sim.state
    names, weights = zip(*RANDOM_MIX, strict=True)
    name = st.rng.choices(names, weights=weights)[0]
    if name == "scan":
        if st.contact_ways and st.rng.random() < 0.7:
            way = st.rng.choice(list(st.contact_ways.values()))
            return scan_contact_way(sim, config_id=way["config_id"])
        states = sim.config.states or [""]
        return add_customer(sim, state=st.rng.choice(states))
    if name == "edit_tags":
        return edit_tags(sim, op=st.rng.choice(("create", "update")))
    if name == "confirm":
        pending = [m for m in st.msg_templates.values()
                   if not m["cancelled"] and any(t["status"] == 0 for t in m["tasks"].values())]
        if pending:
            return confirm_mass_message(sim, msgid=st.rng.choice(pending)["msgid"])
        return add_customer(sim, state=st.rng.choice(sim.config.states or [""]))
    return ACTIONS[name](sim)


async def random_loop(sim):
    """Random customer actions at ``config.rate`` per second while ``config.actions`` is
    "random" (both can change at run time)."""
    while True:
        config = sim.config
        if config.actions != "random" or config.rate <= 0:
            await asyncio.sleep(0.5)
            continue
        await asyncio.sleep(sim.state.rng.expovariate(config.rate))
        if config.actions != "random":
            continue
        try:
            sim.settle()
            random_action(sim)
        except ActionError as exc:
            log.debug("random action skipped: %s", exc)
