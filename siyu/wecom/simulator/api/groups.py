"""Customer groups: list, get, and the two group transfers."""

from siyu.wecom.simulator.api.customers import member_or_error
from siyu.wecom.simulator.api.registry import check_limit, page, route
from siyu.wecom.simulator.errors import ApiError

CONTACT = ("contact",)


def chat_or_error(sim, chat_id) -> dict:
    if not chat_id:
        raise ApiError(40058, "chat_id missing")
    chat = sim.state.chats.get(chat_id)
    if chat is None:
        raise ApiError(40050, chat_id)
    return chat


@route("externalcontact/groupchat/list", kinds=CONTACT)
def groupchat_list(sim, req):
    limit = check_limit(req, "limit", 0, 1000)
    status = req.int_arg("status_filter", 0)
    owners = (req.arg("owner_filter") or {}).get("userid_list") or []
    chats = [c for c in sim.state.chats.values()
             if (not owners or c["owner"] in owners) and (status == 0 or c["status"] == status)]
    chunk, next_cursor = page(chats, req.arg("cursor"), limit)
    return {"group_chat_list": [{"chat_id": c["chat_id"], "status": c["status"]} for c in chunk],
            "next_cursor": next_cursor}


@route("externalcontact/groupchat/get", kinds=CONTACT)
def groupchat_get(sim, req):
    chat = chat_or_error(sim, req.arg("chat_id"))
    need_name = str(req.arg("need_name", 0)) == "1"
    members = []
    for member in chat["member_list"]:
        item = dict(member, invitor=dict(member["invitor"]))
        if need_name:
            person = (sim.state.users.get(member["userid"])
                      or sim.state.customers.get(member["userid"]) or {})
            item["name"] = person.get("name", "")
        members.append(item)
    data = {k: v for k, v in chat.items() if k not in ("status", "member_list")}
    data["member_list"] = members
    data["member_version"] = f"{len(members):08d}"
    return {"group_chat": data}


def _transfer_groups(sim, req, *, resigned: bool):
    chats = req.list_arg("chat_id_list")
    if not chats or len(chats) > 100:
        raise ApiError(40058, "chat_id_list takes 1..100 chats")
    new_owner = req.arg("new_owner")
    member_or_error(sim.state, new_owner)
    failed = []
    for chat_id in chats:
        chat = sim.state.chats.get(chat_id)
        owner_resigned = chat is not None and sim.state.users.get(
            chat["owner"], {}).get("status") == 5
        errcode = (40050 if chat is None
                   else 90504 if chat["owner"] == new_owner
                   else 90500 if resigned and not owner_resigned
                   else 90502 if not resigned and owner_resigned else 0)
        if errcode:
            failed.append({"chat_id": chat_id, "errcode": errcode,
                           "errmsg": ApiError(errcode).errmsg})
            continue
        chat["owner"] = new_owner
        chat["status"] = 3 if resigned else chat["status"]
    return {"failed_chat_list": failed}


@route("externalcontact/groupchat/transfer", kinds=CONTACT)
def groupchat_transfer(sim, req):
    return _transfer_groups(sim, req, resigned=True)


@route("externalcontact/groupchat/onjob_transfer", kinds=CONTACT)
def groupchat_onjob_transfer(sim, req):
    return _transfer_groups(sim, req, resigned=False)
