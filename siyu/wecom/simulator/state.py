"""Everything the simulated WeCom knows and everything it received, in plain dicts.

All access happens on the server's event loop and no handler awaits while changing state, so no
locks are needed."""

import random
import string
from collections import Counter, deque
from dataclasses import dataclass, field

ID_CHARS = string.ascii_letters + string.digits


@dataclass
class SimState:
    rng: random.Random
    departments: dict = field(default_factory=dict)  # id -> department
    users: dict = field(default_factory=dict)  # userid -> member
    customers: dict = field(default_factory=dict)  # external_userid -> external_contact
    follows: dict = field(default_factory=dict)  # external_userid -> {userid -> follow}
    tag_groups: dict = field(default_factory=dict)  # group_id -> group (tag ids in "tag_ids")
    tags: dict = field(default_factory=dict)  # tag_id -> tag (with group_id)
    chats: dict = field(default_factory=dict)  # chat_id -> group chat
    contact_ways: dict = field(default_factory=dict)
    join_ways: dict = field(default_factory=dict)
    group_welcome_templates: dict = field(default_factory=dict)
    welcome_codes: dict = field(default_factory=dict)  # code -> issue record
    login_codes: dict = field(default_factory=dict)  # OAuth code -> {userid, expires}
    welcome_messages: list = field(default_factory=list)
    msg_templates: dict = field(default_factory=dict)  # msgid -> mass message
    mass_received: Counter = field(default_factory=Counter)  # (target, day) -> count
    transfers: dict = field(default_factory=dict)  # (handover, external) -> record
    transfer_times: dict = field(default_factory=dict)  # external_userid -> [times]
    moments: dict = field(default_factory=dict)  # moment_id -> moment
    moment_jobs: dict = field(default_factory=dict)  # jobid -> moment_id
    tag_marks: list = field(default_factory=list)
    remarks: list = field(default_factory=list)
    behavior_adds: Counter = field(default_factory=Counter)  # (userid, day) -> new contacts

    def new_id(self, prefix: str, length: int = 32) -> str:
        return prefix + "".join(self.rng.choice(ID_CHARS) for _ in range(length - len(prefix)))

    # -- reads shared by several APIs -------------------------------------------------------
    def active_userids(self) -> list[str]:
        return [u for u, user in self.users.items() if user["status"] == 1]

    def customers_of(self, userid: str) -> list[str]:
        return [ext for ext, follows in self.follows.items() if userid in follows]

    def tag_json(self, tag_id: str) -> dict:
        tag = self.tags[tag_id]
        group = self.tag_groups[tag["group_id"]]
        return {"group_name": group["group_name"], "tag_name": tag["name"], "tag_id": tag_id,
                "type": 1}

    def follow_json(self, follow: dict) -> dict:
        data = {k: v for k, v in follow.items() if k != "tag_ids"}
        data["tags"] = [self.tag_json(t) for t in follow["tag_ids"] if t in self.tags]
        return data

    def follow_info_json(self, follow: dict) -> dict:
        data = {k: v for k, v in follow.items() if k != "tag_ids"}
        data["tag_id"] = [t for t in follow["tag_ids"] if t in self.tags]
        return data

    def tag_group_json(self, group: dict, only_tags=None) -> dict:
        tags = [self.tags[t] for t in group["tag_ids"] if t in self.tags]
        if only_tags is not None:
            tags = [t for t in tags if t["id"] in only_tags]
        return {
            "group_id": group["group_id"], "group_name": group["group_name"],
            "create_time": group["create_time"], "order": group["order"],
            "tag": [{"id": t["id"], "name": t["name"], "create_time": t["create_time"],
                     "order": t["order"]} for t in tags],
        }

    def population_summary(self) -> dict:
        return {
            "departments": len(self.departments), "employees": len(self.users),
            "customers": len(self.customers),
            "follow_relations": sum(len(f) for f in self.follows.values()),
            "groups": len(self.chats), "tag_groups": len(self.tag_groups),
            "tags": len(self.tags),
        }


class CallLog:
    """Calls per API and errcode, and the most recent calls."""

    def __init__(self, keep: int = 500):
        self.counts: dict[str, Counter] = {}
        self.recent: deque = deque(maxlen=keep)

    def record(self, api: str, errcode: int, latency_ms: float, at: float):
        self.counts.setdefault(api, Counter())[errcode] += 1
        self.recent.appendleft({"api": api, "errcode": errcode,
                                "latency_ms": round(latency_ms, 1), "at": at})

    def as_dict(self) -> dict:
        return {
            "per_api": {api: {"total": sum(c.values()),
                              "errcodes": {str(k): v for k, v in sorted(c.items())}}
                        for api, c in sorted(self.counts.items())},
            "recent": list(self.recent),
        }
