"""A stand-in for WeCom's read APIs and callback payloads, for the handler tests.

``FakeWeCom`` holds WeCom's *current* state. A late or out-of-order callback is read against
the state after everything happened, which is exactly what the handlers see in production.
"""

import copy
import itertools

from siyu.core import events
from siyu.customers.models import Customer, CustomerTag, FollowRelation, TimelineEvent
from siyu.groups.models import CustomerGroup, GroupMember, GroupMemberEvent
from siyu.tags.models import Tag, TagGroup
from siyu.wecom.callback_events import typed_event
from siyu.wecom.errors import WeComError
from siyu.wecom.events import dedupe_key
from siyu.wecom.models import WeComEvent
from tests.jobs import run_ready_jobs


class FakeWeCom:
    def __init__(self):
        self.contacts: dict[str, dict] = {}  # external_userid -> {external_contact, follow_user}
        self.chats: dict[str, dict] = {}  # chat_id -> group_chat
        self.tag_groups: list[dict] = []  # get_corp_tag_list's tag_group
        self.calls: list[tuple] = []
        self.fail_with: WeComError | None = None

    def _call(self, name, *args):
        self.calls.append((name, *args))
        if self.fail_with is not None:
            raise self.fail_with

    def get_external_contact(self, external_userid):
        self._call("get_external_contact", external_userid)
        found = self.contacts.get(external_userid)
        if not found or not found.get("follow_user"):
            raise WeComError(84061, "not external contact", "externalcontact/get")
        return {"errcode": 0, "errmsg": "ok", **copy.deepcopy(found)}

    def groupchat_get(self, chat_id):
        self._call("groupchat_get", chat_id)
        if chat_id not in self.chats:
            raise WeComError(40050, "chatid not found", "externalcontact/groupchat/get")
        return {"errcode": 0, "errmsg": "ok", "group_chat": copy.deepcopy(self.chats[chat_id])}

    def get_corp_tag_list(self, tag_id=(), group_id=()):
        self._call("get_corp_tag_list", tuple(tag_id), tuple(group_id))
        groups = copy.deepcopy(self.tag_groups)
        if group_id:
            groups = [g for g in groups if g["group_id"] in group_id]
        if tag_id:
            groups = [{**g, "tag": [t for t in g["tag"] if t["id"] in tag_id]} for g in groups]
            groups = [g for g in groups if g["tag"]]
        return {"errcode": 0, "errmsg": "ok", "tag_group": groups}

    # ---- building WeCom's state ----

    def set_contact(self, external_userid, name, follows, **extra):
        self.contacts[external_userid] = {
            "external_contact": {"external_userid": external_userid, "name": name, "type": 1,
                                 "gender": 1, **extra},
            "follow_user": follows,
        }


def follow_entry(userid, *, remark="", state="", tags=(), createtime=0, add_way=1,
                 description="", remark_mobiles=()):
    return {"userid": userid, "remark": remark, "description": description,
            "createtime": createtime, "add_way": add_way, "state": state,
            "remark_mobiles": list(remark_mobiles),
            "tags": [{"group_name": "G", "tag_name": f"tag {t}", "tag_id": t, "type": 1}
                     for t in tags]}


def member(userid, member_type, join_time, *, join_scene=1, name="", invitor=""):
    entry = {"userid": userid, "type": member_type, "join_time": join_time,
             "join_scene": join_scene, "group_nickname": "", "name": name}
    if invitor:
        entry["invitor"] = {"userid": invitor}
    return entry


def tag_group(group_id, name, tags, order=0):
    return {"group_id": group_id, "group_name": name, "create_time": 1, "order": order,
            "tag": [{"id": tid, "name": tname, "create_time": 1, "order": torder}
                    for tid, tname, torder in tags]}


# ---- callbacks ----

def contact_event(change_type, userid, external_userid, create_time, **extra) -> dict:
    return {"ToUserName": "wwcorp", "FromUserName": "sys", "CreateTime": create_time,
            "MsgType": "event", "Event": "change_external_contact", "ChangeType": change_type,
            "UserID": userid, "ExternalUserID": external_userid, **extra}


def chat_event(change_type, chat_id, create_time, **extra) -> dict:
    return {"ToUserName": "wwcorp", "FromUserName": "sys", "CreateTime": create_time,
            "MsgType": "event", "Event": "change_external_chat", "ChangeType": change_type,
            "ChatId": chat_id, **extra}


def tag_event(change_type, wecom_id, create_time, tag_type="tag") -> dict:
    return {"ToUserName": "wwcorp", "FromUserName": "sys", "CreateTime": create_time,
            "MsgType": "event", "Event": "change_external_tag", "ChangeType": change_type,
            "Id": wecom_id, "TagType": tag_type}


def deliver(corp, payload: dict) -> None:
    """What dispatch does with the callback (its typed event to the subscribers), then the jobs
    the subscribers' domain events queued, as the workers would run them."""
    stored = WeComEvent(corp=corp, event=payload["Event"], change_type=payload["ChangeType"],
                        payload=payload, dedupe_key=dedupe_key(payload, ""))
    typed = typed_event(stored)
    assert typed is not None, payload
    events.deliver(typed)
    run_ready_jobs()


def orders(events: list, limit: int | None = None):
    """Every arrival order of ``events`` (or the first ``limit`` of them)."""
    return itertools.islice(itertools.permutations(events), limit)


# ---- the state to compare, free of database ids ----

def final_state(corp) -> dict:
    def emp(e):
        return e.userid if e is not None else None

    return {
        "customers": sorted(
            (c.external_userid, c.name, c.avatar, c.type, c.gender, c.unionid, c.company)
            for c in Customer.objects.for_corp(corp)),
        "follows": sorted(
            (f.customer.external_userid, f.employee.userid, f.added_at, f.deleted_at,
             f.deleted_by, f.state, f.remark, f.description, tuple(f.remark_mobiles),
             f.add_way, tuple(f.wecom_tag_ids))
            for f in FollowRelation.objects.for_corp(corp).select_related("customer",
                                                                          "employee")),
        "customer_tags": sorted(
            (link.customer.external_userid, link.tag.name)
            for link in CustomerTag.objects.for_corp(corp).select_related("customer", "tag")),
        "timeline": sorted(
            (e.customer.external_userid, e.kind, e.occurred_at, emp(e.employee), e.summary)
            for e in TimelineEvent.objects.for_corp(corp).select_related("customer",
                                                                         "employee")),
        "groups": sorted(
            (g.chat_id, g.name, g.owner_userid, emp(g.owner), g.notice, g.status,
             g.dismissed_at, g.member_count)
            for g in CustomerGroup.objects.for_corp(corp).select_related("owner")),
        "members": sorted(
            (m.group.chat_id, m.userid, m.member_type, m.join_time, m.quit_at, m.quit_scene,
             m.join_scene, m.customer.external_userid if m.customer else None)
            for m in GroupMember.objects.for_corp(corp).select_related("group", "customer")),
        "member_history": sorted(
            (h.group.chat_id, h.userid, h.kind, h.occurred_at, h.scene)
            for h in GroupMemberEvent.objects.for_corp(corp).select_related("group")),
        "tag_groups": sorted((g.wecom_group_id, g.name, g.order)
                             for g in TagGroup.objects.for_corp(corp)),
        "tags": sorted((t.wecom_tag_id, t.group.name, t.name, t.order)
                       for t in Tag.objects.for_corp(corp).select_related("group")),
    }
