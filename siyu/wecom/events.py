"""Decrypted callback XML → a flat payload dict, and the key that makes retries harmless.

The payload holds every child of ``<xml>`` by tag name: text (stripped) for leaves,
``CreateTime`` as int, ``MemChangeList`` always a list of userids (WeCom sends ``<Item>``
children; older clients one comma-separated string), other elements with children as a list of
their ``<Item>`` texts or a dict of their children's texts.
"""

import hashlib

from siyu.wecom.crypto import CryptoError, parse_xml

LIST_FIELDS = {"MemChangeList"}
KEY_MAX_LENGTH = 255


def _text(element) -> str:
    return (element.text or "").strip()


def _nested(element):
    children = list(element)
    if all(child.tag == "Item" for child in children):
        return [_text(child) for child in children if _text(child)]
    return {child.tag: _text(child) for child in children}


def _as_list(element) -> list[str]:
    if len(element):
        return [_text(child) for child in element if _text(child)]
    return [part.strip() for part in _text(element).split(",") if part.strip()]


def parse_event(xml: str) -> dict:
    """The flat payload of a decrypted callback; CryptoError("bad_xml") on malformed input."""
    root = parse_xml(xml)
    payload: dict = {}
    for element in root:
        if element.tag in LIST_FIELDS:
            payload[element.tag] = _as_list(element)
        elif len(element):
            payload[element.tag] = _nested(element)
        else:
            payload[element.tag] = _text(element)
    try:
        payload["CreateTime"] = int(payload.get("CreateTime") or 0)
    except ValueError as exc:
        raise CryptoError("bad_xml", "CreateTime is not a number.") from exc
    return payload


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dedupe_key(payload: dict, raw_xml: str) -> str:
    """Same event delivered twice → same key (wecom-api.md §3: ChangeType, UserID,
    ExternalUserID/ChatId, CreateTime). Group updates add what changed, so two different
    updates of one group within the same second stay two events. Anything else: a hash of the
    decrypted XML."""
    event = payload.get("Event", "")
    change = payload.get("ChangeType", "")
    created = str(payload.get("CreateTime", 0))
    if event == "change_external_contact":
        parts = [event, change, payload.get("UserID", ""), payload.get("ExternalUserID", ""),
                 created]
    elif event == "change_external_chat":
        members = ",".join(sorted(payload.get("MemChangeList") or []))
        parts = [event, change, payload.get("ChatId", ""), created,
                 payload.get("UpdateDetail", ""), payload.get("JoinScene", ""),
                 payload.get("QuitScene", ""), _digest(members)[:16] if members else ""]
    elif event == "change_external_tag":
        parts = [event, change, payload.get("TagType", ""), payload.get("Id", ""), created]
    else:
        return f"xml:{_digest(raw_xml)}"
    key = ":".join(str(part) for part in parts)
    # Keys stay readable in the console; overlong ids (never seen in practice) are hashed.
    return key if len(key) <= KEY_MAX_LENGTH else f"{event}:{_digest(key)}"


def ordering_key(payload: dict) -> str:
    """Which events must be applied one at a time, in order (siyu.wecom.feeder): a customer's
    (their external_userid), a group's (its chat id), and a corp's tag changes (one key: a tag
    callback may create the group another one needs). Empty: no order needed."""
    event = payload.get("Event", "")
    if event == "change_external_contact":
        return f"c:{payload.get('ExternalUserID', '')}"[:128]
    if event == "change_external_chat":
        return f"g:{payload.get('ChatId', '')}"[:128]
    if event == "change_external_tag":
        return "tags"
    return ""
