"""Mass messages (企业群发, at most ``mass_per_day`` per customer or group per day) and moments
(客户朋友圈). Nothing is sent until the member confirms: the ``confirm_mass_message`` and
``confirm_moment`` simulator actions play that part."""

from siyu.wecom.simulator.api.customers import member_or_error
from siyu.wecom.simulator.api.registry import check_attachments, check_limit, page, route
from siyu.wecom.simulator.api.welcome import check_text
from siyu.wecom.simulator.errors import ApiError

CONTACT = ("contact",)
CHINA_OFFSET = 8 * 3600


def china_day(ts: float) -> int:
    """WeCom counts days in China time."""
    return int((ts + CHINA_OFFSET) // 86400)


def _targets(sim, req, chat_type, sender) -> tuple[list[tuple[str, str]], list[str]]:
    """(target, userid) pairs to send to, and the external_userids that cannot be sent to."""
    state = sim.state
    if chat_type == "group":
        chat_ids = req.list_arg("chat_id_list")
        chats = [c for c in state.chats.values()
                 if c["owner"] == sender and (not chat_ids or c["chat_id"] in chat_ids)]
        return [(c["chat_id"], sender) for c in chats], []
    ext_ids = req.list_arg("external_userid")
    if len(ext_ids) > 10_000:
        raise ApiError(40058, "at most 10000 external_userid")
    if not ext_ids:
        return [(ext, sender) for ext in state.customers_of(sender)], []
    pairs, failed = [], []
    for ext in dict.fromkeys(ext_ids):
        follows = [u for u in state.follows.get(ext, {}) if not sender or u == sender]
        if not follows:
            failed.append(ext)
        pairs += [(ext, u) for u in follows]
    return pairs, failed


@route("externalcontact/add_msg_template", kinds=CONTACT)
def add_msg_template(sim, req):
    state = sim.state
    chat_type = req.arg("chat_type") or "single"
    if chat_type not in ("single", "group"):
        raise ApiError(40058, "chat_type must be single or group")
    sender = req.arg("sender") or ""
    if sender:
        member_or_error(state, sender)
    elif chat_type == "group" or not req.list_arg("external_userid"):
        raise ApiError(40058, "sender missing")
    content = check_text(req.arg("text"))
    attachments = check_attachments(req.arg("attachments"))
    if not content and not attachments:
        raise ApiError(44004, "text or attachments required")
    pairs, failed = _targets(sim, req, chat_type, sender)
    day = china_day(req.now)
    recipients = []
    for target, userid in pairs:
        if state.mass_received[(target, day)] >= sim.config.mass_per_day:
            failed.append(target)
            recipients.append({"target": target, "userid": userid, "status": 3, "send_time": 0})
            continue
        state.mass_received[(target, day)] += 1
        recipients.append({"target": target, "userid": userid, "status": 0, "send_time": 0})
    failed = list(dict.fromkeys(failed))
    if not any(r["status"] == 0 for r in recipients):
        raise ApiError(41048)
    msgid = state.new_id("msg", 32)
    state.msg_templates[msgid] = {
        "msgid": msgid, "chat_type": chat_type, "creator": sender, "create_type": 0,
        "create_time": int(req.now), "day": day, "text": {"content": content},
        "attachments": attachments, "fail_list": failed, "recipients": recipients,
        "tasks": {u: {"userid": u, "status": 0, "send_time": 0}
                  for u in dict.fromkeys(r["userid"] for r in recipients if r["status"] == 0)},
        "reminded": 0, "cancelled": False,
    }
    return {"fail_list": failed, "msgid": msgid}


def msg_or_error(sim, msgid) -> dict:
    if not msgid:
        raise ApiError(41046)
    msg = sim.state.msg_templates.get(msgid)
    if msg is None:
        raise ApiError(41047, msgid)
    return msg


@route("externalcontact/get_groupmsg_list_v2", kinds=CONTACT)
def get_groupmsg_list_v2(sim, req):
    chat_type = req.arg("chat_type") or "single"
    start, end = req.int_arg("start_time", 0), req.int_arg("end_time", 0)
    if not start or not end or end < start or end - start > 31 * 86400:
        raise ApiError(40058, "start_time and end_time span at most one month")
    creator = req.arg("creator")
    limit = check_limit(req, "limit", 50, 100)
    msgs = [m for m in sim.state.msg_templates.values()
            if m["chat_type"] == chat_type and start <= m["create_time"] <= end
            and (not creator or m["creator"] == creator)]
    chunk, next_cursor = page(msgs, req.arg("cursor"), limit)
    return {"group_msg_list": [{k: m[k] for k in ("msgid", "creator", "create_time",
                                                  "create_type", "text", "attachments")}
                               for m in chunk], "next_cursor": next_cursor}


@route("externalcontact/get_groupmsg_task", kinds=CONTACT)
def get_groupmsg_task(sim, req):
    msg = msg_or_error(sim, req.arg("msgid"))
    limit = check_limit(req, "limit", 500, 1000)
    chunk, next_cursor = page(list(msg["tasks"].values()), req.arg("cursor"), limit)
    return {"task_list": [dict(t) for t in chunk], "next_cursor": next_cursor}


@route("externalcontact/get_groupmsg_send_result", kinds=CONTACT)
def get_groupmsg_send_result(sim, req):
    msg = msg_or_error(sim, req.arg("msgid"))
    userid = req.arg("userid")
    member_or_error(sim.state, userid)
    limit = check_limit(req, "limit", 500, 1000)
    rows = [r for r in msg["recipients"] if r["userid"] == userid]
    chunk, next_cursor = page(rows, req.arg("cursor"), limit)
    key = "chat_id" if msg["chat_type"] == "group" else "external_userid"
    return {"send_list": [{key: r["target"], "userid": r["userid"], "status": r["status"],
                           "send_time": r["send_time"]} for r in chunk],
            "next_cursor": next_cursor}


@route("externalcontact/remind_groupmsg_send", kinds=CONTACT)
def remind_groupmsg_send(sim, req):
    msg_or_error(sim, req.arg("msgid"))["reminded"] += 1
    return {}


@route("externalcontact/cancel_groupmsg_send", kinds=CONTACT)
def cancel_groupmsg_send(sim, req):
    msg = msg_or_error(sim, req.arg("msgid"))
    if not msg["cancelled"]:
        msg["cancelled"] = True
        for r in msg["recipients"]:  # unsent messages no longer use the day's quota
            if r["status"] == 0:
                sim.state.mass_received[(r["target"], msg["day"])] -= 1
    return {}


def confirm_mass_message(sim, msgid: str, userid: str | None = None) -> int:
    """The member taps "send" in the client: their pending recipients receive the message."""
    msg = msg_or_error(sim, msgid)
    if msg["cancelled"]:
        return 0
    now, sent = int(sim.clock.now()), 0
    for r in msg["recipients"]:
        if r["status"] == 0 and (userid is None or r["userid"] == userid):
            r.update(status=1, send_time=now)
            sent += 1
    for task in msg["tasks"].values():
        if userid is None or task["userid"] == userid:
            task.update(status=2, send_time=now)
    return sent


# -- moments --------------------------------------------------------------------------------
@route("externalcontact/add_moment_task", kinds=CONTACT)
def add_moment_task(sim, req):
    state = sim.state
    text = req.arg("text") or {}
    content = str(text.get("content") or "") if isinstance(text, dict) else ""
    if len(content) > 2000:
        raise ApiError(40058, "text.content is at most 2000 characters")
    attachments = check_attachments(req.arg("attachments"))
    kinds = [a["msgtype"] for a in attachments]
    if any(k not in ("image", "video", "link") for k in kinds) or (
            ("video" in kinds or "link" in kinds) and len(kinds) > 1):
        raise ApiError(40058, "attachments: up to 9 images, or 1 video, or 1 link")
    if not content and not attachments:
        raise ApiError(44004, "text or attachments required")
    visible = req.arg("visible_range") or {}
    senders = visible.get("sender_list") or {}
    users = list(senders.get("user_list") or [])
    for dept in senders.get("department_list") or []:
        users += [u for u, m in state.users.items() if dept in m["department"]]
    invalid = [u for u in users if u not in state.users]
    users = [u for u in dict.fromkeys(users) if u in state.users] or state.active_userids()
    tag_list = (visible.get("external_contact_list") or {}).get("tag_list") or []
    moment_id = state.new_id("mom", 32)
    jobid = state.new_id("job", 32)
    state.moments[moment_id] = {
        "moment_id": moment_id, "jobid": jobid, "text": content, "attachments": attachments,
        "create_time": int(req.now), "tag_list": tag_list, "cancelled": False,
        "tasks": {u: {"userid": u, "publish_status": 0} for u in users},
        "invalid_users": invalid,
    }
    state.moment_jobs[jobid] = moment_id
    return {"jobid": jobid}


def moment_or_error(sim, moment_id) -> dict:
    moment = sim.state.moments.get(moment_id)
    if moment is None:
        raise ApiError(40058, f"moment_id {moment_id} not found")
    return moment


@route("externalcontact/get_moment_task_result", kinds=CONTACT)
def get_moment_task_result(sim, req):
    moment_id = sim.state.moment_jobs.get(req.arg("jobid"))
    if moment_id is None:
        raise ApiError(40058, "jobid not found")
    moment = sim.state.moments[moment_id]
    return {"status": 3, "type": "add_moment_task", "result": {
        "errcode": 0, "errmsg": "ok", "moment_id": moment_id,
        "invalid_sender_list": {"user_list": moment["invalid_users"], "department_list": []},
        "invalid_external_contact_list": {"tag_list": []}}}


@route("externalcontact/get_moment_task", kinds=CONTACT)
def get_moment_task(sim, req):
    moment = moment_or_error(sim, req.arg("moment_id"))
    limit = check_limit(req, "limit", 500, 1000)
    chunk, next_cursor = page(list(moment["tasks"].values()), req.arg("cursor"), limit)
    return {"task_list": [dict(t) for t in chunk], "next_cursor": next_cursor}


@route("externalcontact/get_moment_send_result", kinds=CONTACT)
def get_moment_send_result(sim, req):
    moment = moment_or_error(sim, req.arg("moment_id"))
    userid = req.arg("userid")
    member_or_error(sim.state, userid)
    limit = check_limit(req, "limit", 500, 5000)
    task = moment["tasks"].get(userid)
    customers = []
    if task and task["publish_status"] == 1:
        for ext in sim.state.customers_of(userid):
            tags = sim.state.follows[ext][userid]["tag_ids"]
            if not moment["tag_list"] or set(tags) & set(moment["tag_list"]):
                customers.append({"external_userid": ext})
    chunk, next_cursor = page(customers, req.arg("cursor"), limit)
    return {"customer_list": chunk, "next_cursor": next_cursor}


@route("externalcontact/get_moment_comments", kinds=CONTACT)
def get_moment_comments(sim, req):
    moment_or_error(sim, req.arg("moment_id"))
    member_or_error(sim.state, req.arg("userid"))
    return {"comment_list": [], "like_list": []}


@route("externalcontact/cancel_moment_task", kinds=CONTACT)
def cancel_moment_task(sim, req):
    moment_or_error(sim, req.arg("moment_id"))["cancelled"] = True
    return {}


def confirm_moment(sim, moment_id: str, userid: str | None = None) -> int:
    moment = moment_or_error(sim, moment_id)
    published = 0
    for task in moment["tasks"].values():
        if not moment["cancelled"] and (userid is None or task["userid"] == userid):
            task["publish_status"] = 1
            published += 1
    return published
