"""Typed WeCom events: what a stored callback says, for the domain apps that subscribe to it.

The transport knows WeCom's callback fields and nothing of what they mean for customers, tags,
groups or codes. :func:`typed_event` turns a stored callback into one of these events;
dispatch delivers it to the subscribers (``siyu.core.events.deliver``), which the domain apps
register. A callback no event describes is stored and marked "ignored".

Every event carries the stored callback's id and dedupe key (``event_id``, ``event_key``), and
WeCom's CreateTime (``create_time``, seconds), by which the services decide what a late or
repeated callback may still change.
"""

from dataclasses import dataclass

from siyu.core.events import Event, event

CONTACT = "change_external_contact"
CHAT = "change_external_chat"
TAG = "change_external_tag"


class CallbackInvalid(ValueError):
    """The stored callback lacks a field its event needs; it cannot be applied."""


@dataclass(frozen=True)
class WeComCallback(Event):
    event_id: int
    event_key: str
    create_time: int


@event("wecom.contact_added")
@dataclass(frozen=True)
class ContactAdded(WeComCallback):
    """add_external_contact, or add_half_external_contact (``half``: the customer added the
    member without verification and the member has not accepted yet)."""

    userid: str
    external_userid: str
    state: str = ""
    welcome_code: str = ""
    half: bool = False


@event("wecom.contact_edited")
@dataclass(frozen=True)
class ContactEdited(WeComCallback):
    userid: str
    external_userid: str


@event("wecom.contact_deleted")
@dataclass(frozen=True)
class ContactDeleted(WeComCallback):
    """``by_customer``: del_follow_user (the customer deleted or blocked the member); else
    del_external_contact (the member deleted the customer; ``source`` says from where)."""

    userid: str
    external_userid: str
    by_customer: bool
    source: str = ""


@event("wecom.contact_transfer_failed")
@dataclass(frozen=True)
class ContactTransferFailed(WeComCallback):
    userid: str
    external_userid: str
    reason: str = ""


@event("wecom.chat_changed")
@dataclass(frozen=True)
class ChatChanged(WeComCallback):
    """create, update (``detail``: add_member, del_member, change_owner, change_name,
    change_notice) or dismiss of a customer group."""

    change: str
    chat_id: str
    detail: str = ""
    members: tuple[str, ...] = ()
    join_scene: str = ""
    quit_scene: str = ""


@event("wecom.tag_changed")
@dataclass(frozen=True)
class TagChanged(WeComCallback):
    """create, update, delete or shuffle of a corp tag or tag group (``tag_type``: "tag" or
    "tag_group"; ``wecom_id`` empty for a shuffle of every group)."""

    change: str
    wecom_id: str
    tag_type: str = "tag"


def _required(payload: dict, *fields: str) -> list[str]:
    missing = [f for f in fields if not str(payload.get(f) or "").strip()]
    if missing:
        raise CallbackInvalid(f"The callback lacks {', '.join(missing)}.")
    return [str(payload[f]).strip() for f in fields]


def _create_time(payload: dict) -> int:
    try:
        value = int(payload.get("CreateTime") or 0)
    except (TypeError, ValueError):
        value = 0
    if value <= 0:
        raise CallbackInvalid("The callback lacks a valid CreateTime.")
    return value


def _members(payload: dict) -> tuple[str, ...]:
    # Ingress hands a list; older clients' comma-separated string is accepted here too.
    members = payload.get("MemChangeList") or []
    if isinstance(members, str):
        members = members.split(",")
    return tuple(str(m).strip() for m in members if str(m).strip())


def _contact(base: dict, change: str, payload: dict) -> Event | None:
    userid, external_userid = _required(payload, "UserID", "ExternalUserID")
    ids = {**base, "userid": userid, "external_userid": external_userid}
    if change in ("add_external_contact", "add_half_external_contact"):
        return ContactAdded(**ids, state=str(payload.get("State") or ""),
                            welcome_code=str(payload.get("WelcomeCode") or ""),
                            half=change == "add_half_external_contact")
    if change == "edit_external_contact":
        return ContactEdited(**ids)
    if change in ("del_external_contact", "del_follow_user"):
        return ContactDeleted(**ids, by_customer=change == "del_follow_user",
                              source=str(payload.get("Source") or ""))
    if change == "transfer_fail":
        return ContactTransferFailed(**ids, reason=str(payload.get("FailReason") or ""))
    return None


def _chat(base: dict, change: str, payload: dict) -> Event | None:
    if change not in ("create", "update", "dismiss"):
        return None
    [chat_id] = _required(payload, "ChatId")
    return ChatChanged(**base, change=change, chat_id=chat_id,
                       detail=str(payload.get("UpdateDetail") or ""),
                       members=_members(payload),
                       join_scene=str(payload.get("JoinScene") or ""),
                       quit_scene=str(payload.get("QuitScene") or ""))


def _tag(base: dict, change: str, payload: dict) -> Event | None:
    if change not in ("create", "update", "delete", "shuffle"):
        return None
    if change == "shuffle":
        wecom_id = str(payload.get("Id") or "").strip()
    else:
        [wecom_id] = _required(payload, "Id")
    return TagChanged(**base, change=change, wecom_id=wecom_id,
                      tag_type=str(payload.get("TagType") or "tag"))


_PARSERS = {CONTACT: _contact, CHAT: _chat, TAG: _tag}
_CHANGES = {
    CONTACT: {"add_external_contact", "add_half_external_contact", "edit_external_contact",
              "del_external_contact", "del_follow_user", "transfer_fail"},
    CHAT: {"create", "update", "dismiss"},
    TAG: {"create", "update", "delete", "shuffle"},
}


def typed_event(stored) -> Event | None:
    """The typed event of a stored callback (a WeComEvent); None for callbacks Siyu does not
    act on. Raises CallbackInvalid when a field the event needs is missing."""
    if stored.change_type not in _CHANGES.get(stored.event, ()):
        return None
    parser = _PARSERS[stored.event]
    payload = stored.payload or {}
    base = {"corp_id": stored.corp_id, "event_id": stored.pk, "event_key": stored.dedupe_key,
            "create_time": _create_time(payload)}
    return parser(base, stored.change_type, payload)
