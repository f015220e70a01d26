"""Customer transfers: on-job (≤100 per call, ≤2 per customer in 90 days, done after 24 h) and
resigned (离职继承). Pending transfers settle on the simulator's clock."""

from siyu.wecom.simulator.api.customers import member_or_error
from siyu.wecom.simulator.api.registry import check_limit, page, route
from siyu.wecom.simulator.errors import ApiError

CONTACT = ("contact",)
DAY = 86400


def _transfer(sim, req, *, resigned: bool):
    state, config = sim.state, sim.config
    handover, takeover = req.arg("handover_userid"), req.arg("takeover_userid")
    member_or_error(state, handover)
    member_or_error(state, takeover)
    if resigned and state.users[handover]["status"] != 5:
        raise ApiError(40097, handover)
    ext_ids = req.list_arg("external_userid")
    if not ext_ids or len(ext_ids) > config.transfer_max_per_call:
        raise ApiError(40058, f"external_userid takes 1..{config.transfer_max_per_call} "
                              "customers")
    window = config.transfer_window_days * DAY
    results = []
    for ext in ext_ids:
        recent = [t for t in state.transfer_times.get(ext, []) if t > req.now - window]
        pending = any(r["external_userid"] == ext and r["status"] == 2
                      for r in state.transfers.values())
        errcode = (40096 if ext not in state.customers
                   else 40130 if handover == takeover
                   else 40131 if handover not in state.follows[ext]
                   else 40129 if pending
                   else 40128 if not resigned and len(recent) >= config.transfer_max_in_window
                   else 0)
        results.append({"external_userid": ext, "errcode": errcode})
        if errcode:
            continue
        state.transfer_times.setdefault(ext, []).append(req.now)
        state.transfers[(handover, ext)] = {
            "handover_userid": handover, "takeover_userid": takeover, "external_userid": ext,
            "status": 2, "started_at": req.now, "takeover_time": 0, "resigned": resigned,
            "success_msg": req.arg("transfer_success_msg") or ""}
    return {"customer": results}


def _result(sim, req):
    handover, takeover = req.arg("handover_userid"), req.arg("takeover_userid")
    member_or_error(sim.state, handover)
    member_or_error(sim.state, takeover)
    rows = [r for r in sim.state.transfers.values()
            if r["handover_userid"] == handover and r["takeover_userid"] == takeover]
    chunk, next_cursor = page(rows, req.arg("cursor"), 1000)
    return {"customer": [{"external_userid": r["external_userid"], "status": r["status"],
                          "takeover_time": r["takeover_time"]} for r in chunk],
            "next_cursor": next_cursor}


@route("externalcontact/transfer_customer", kinds=CONTACT)
def transfer_customer(sim, req):
    return _transfer(sim, req, resigned=False)


@route("externalcontact/transfer_result", kinds=CONTACT)
def transfer_result(sim, req):
    return _result(sim, req)


@route("externalcontact/resigned/transfer_customer", kinds=CONTACT)
def resigned_transfer_customer(sim, req):
    return _transfer(sim, req, resigned=True)


@route("externalcontact/resigned/transfer_result", kinds=CONTACT)
def resigned_transfer_result(sim, req):
    return _result(sim, req)


@route("externalcontact/get_unassigned_list", kinds=CONTACT)
def get_unassigned_list(sim, req):
    state = sim.state
    size = check_limit(req, "page_size", 1000, 1000)
    pending = {(r["handover_userid"], r["external_userid"])
               for r in state.transfers.values() if r["status"] == 2}
    rows = [{"handover_userid": u, "external_userid": ext,
             "dimission_time": state.users[u].get("dimission_time", 0)}
            for ext, follows in state.follows.items() for u in follows
            if state.users.get(u, {}).get("status") == 5 and (u, ext) not in pending]
    chunk, next_cursor = page(rows, req.arg("cursor"), size)
    return {"info": chunk, "is_last": not next_cursor, "next_cursor": next_cursor}


def settle_transfers(sim) -> list[dict]:
    """Complete transfers older than ``transfer_delay_s``; returns the callbacks to send."""
    state, config = sim.state, sim.config
    now = sim.clock.now()
    events = []
    for record in state.transfers.values():
        if record["status"] != 2 or now < record["started_at"] + config.transfer_delay_s:
            continue
        ext = record["external_userid"]
        handover, takeover = record["handover_userid"], record["takeover_userid"]
        done_at = int(record["started_at"] + config.transfer_delay_s)
        if state.rng.random() < config.transfer_refuse_ratio:
            record["status"] = 3
            events.append({"event": "change_external_contact", "ChangeType": "transfer_fail",
                           "UserID": takeover, "ExternalUserID": ext,
                           "FailReason": "customer_refused", "CreateTime": done_at})
            continue
        record.update(status=1, takeover_time=done_at)
        follows = state.follows.get(ext, {})
        old = follows.pop(handover, None)
        if old is not None and takeover not in follows:
            follows[takeover] = dict(old, userid=takeover, oper_userid=takeover,
                                     createtime=done_at, add_way=202 if record["resigned"]
                                     else 201)
        events.append({"event": "change_external_contact", "ChangeType": "del_external_contact",
                       "UserID": handover, "ExternalUserID": ext,
                       "Source": "DELETE_BY_TRANSFER", "CreateTime": done_at})
        events.append({"event": "change_external_contact", "ChangeType": "add_external_contact",
                       "UserID": takeover, "ExternalUserID": ext, "CreateTime": done_at})
    return events
