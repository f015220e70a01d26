"""Customers scanning a group join way (群活码): the action ``scan_join_way``.

WeCom puts the customer into the first listed group that still has room (WeCom's own group
capacity, ``group_max_members``); when every listed group is full and the way has
``auto_create_room``, it creates the next group, named ``room_base_name`` + a number counting
from ``room_base_id``, adds it to the way and puts the customer there. The member carries the
way's ``state`` in groupchat/get, which is how Siyu attributes the join to its code.
"""

from siyu.wecom.simulator.actions import CHAT, ActionError, action
from siyu.wecom.simulator.population import group_member, new_customer

CHATS_MAX = 5
QR_CODE_SCENE = 3  # JoinScene of a join by scanning a group QR code


def _join_way(sim, config_id=None, state=None) -> dict:
    if config_id:
        way = sim.state.join_ways.get(config_id)
    else:
        way = next((w for w in sim.state.join_ways.values()
                    if state is not None and w.get("state") == state), None)
    if way is None:
        raise ActionError("No join way with that config_id or state.")
    return way


def _create_room(sim, way: dict, listed: list[dict]) -> dict:
    """The group WeCom creates when every listed group is full (owner: the last group's)."""
    st, now = sim.state, int(sim.clock.now())
    owner = listed[-1]["owner"] if listed else sim.state.rng.choice(st.active_userids())
    number = int(way.get("room_base_id") or 1) + int(way.get("rooms_created", 0))
    way["rooms_created"] = int(way.get("rooms_created", 0)) + 1
    chat_id = st.new_id("wr", 32)
    chat = {"chat_id": chat_id, "name": f"{way.get('room_base_name') or '群'}{number}",
            "owner": owner, "create_time": now, "notice": "", "status": 0,
            "member_list": [group_member(owner, 1, now, 1, owner)], "admin_list": []}
    st.chats[chat_id] = chat
    chats = [*(way.get("chat_id_list") or []), chat_id]
    while len(chats) > CHATS_MAX:  # the oldest full groups make way for the new one
        chats.pop(0)
    way["chat_id_list"] = chats
    sim.emit({"event": CHAT, "ChatId": chat_id, "ChangeType": "create"})
    return chat


@action
def scan_join_way(sim, config_id=None, state=None, external_userid=None, name=None,
                  member_format=None, duplicate=None):
    """A customer scans a group join way, found by config_id or by its state: joins the
    first listed group with room (change_external_chat update/add_member), after creating a
    group (change_external_chat create) when all are full and the way auto-creates rooms."""
    st = sim.state
    way = _join_way(sim, config_id, state)
    if external_userid is None:
        external_userid = new_customer(st, st.rng, name=name)["external_userid"]
    elif external_userid not in st.customers:
        raise ActionError(f"No customer {external_userid!r}.")
    listed = [st.chats[c] for c in way.get("chat_id_list") or []
              if c in st.chats and st.chats[c]["status"] != -1]
    for chat in listed:  # already a member: WeCom just opens that group
        if any(m["userid"] == external_userid for m in chat["member_list"]):
            return {"chat_id": chat["chat_id"], "external_userid": external_userid,
                    "state": way.get("state", ""), "created": False, "already_member": True}
    capacity = sim.config.group_max_members
    chat = next((c for c in listed if len(c["member_list"]) < capacity), None)
    created = chat is None
    if created:
        if not int(way.get("auto_create_room", 1)):
            raise ActionError("Every group of that join way is full.")
        chat = _create_room(sim, way, listed)
    now = int(sim.clock.now())
    member = group_member(external_userid, 2, now, QR_CODE_SCENE, chat["owner"],
                          unionid=st.customers[external_userid].get("unionid", ""))
    member["state"] = way.get("state", "")
    chat["member_list"].append(member)
    record = sim.emit({"event": CHAT, "ChatId": chat["chat_id"], "ChangeType": "update",
                       "UpdateDetail": "add_member", "JoinScene": QR_CODE_SCENE,
                       "MemChangeCnt": 1, "MemChangeList": [external_userid]},
                      member_format=member_format, duplicate=duplicate)
    return {"chat_id": chat["chat_id"], "external_userid": external_userid,
            "state": way.get("state", ""), "created": created, "already_member": False,
            "callback_id": record["id"]}
