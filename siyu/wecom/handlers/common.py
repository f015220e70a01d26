"""What the handlers share: the WeCom client they read details with, and how they tell
"WeCom no longer has it" (go on with what the callback says) from a failure worth a retry."""

from siyu.core.jobs import TransientError
from siyu.wecom.errors import WeComError

# Answers meaning the object is gone in WeCom; its delete callback comes, or came, on its own.
CONTACT_GONE = frozenset({84061, 40096})  # no such relationship / unknown external_userid
CHAT_GONE = frozenset({40050})  # chat id not found: the group was dismissed
TAG_GONE = frozenset({40068})  # tag or group id not found: deleted


def _sync_client_for(corp):
    from siyu.wecom.client import sync_client_for

    return sync_client_for(corp)


# Tests point this at a fake or a simulator-backed client.
client_factory = _sync_client_for


def client(corp):
    return client_factory(corp)


def fetch(call, *args, gone: frozenset, **kwargs) -> dict | None:
    """``call(*args, **kwargs)``, or None when WeCom answers that the object is gone. Other
    errors propagate: transient ones make dispatch retry, permanent ones fail the event."""
    try:
        return call(*args, **kwargs)
    except WeComError as exc:
        if exc.errcode in gone and not isinstance(exc, TransientError):
            return None
        raise


def required(payload: dict, *fields: str) -> list[str]:
    """The callback's values for ``fields``; a callback without them cannot be applied."""
    missing = [f for f in fields if not str(payload.get(f) or "").strip()]
    if missing:
        raise ValueError(f"The callback lacks {', '.join(missing)}.")
    return [str(payload[f]).strip() for f in fields]


def event_time(payload: dict) -> int:
    try:
        value = int(payload.get("CreateTime") or 0)
    except (TypeError, ValueError):
        value = 0
    if value <= 0:
        raise ValueError("The callback lacks a valid CreateTime.")
    return value


def contact_view(answer: dict | None, external_userid: str) -> tuple[dict, list]:
    """(external_contact, follow_user) from externalcontact/get's answer; just the id when
    WeCom no longer has any relationship with this customer (no answer)."""
    if not answer:
        return {"external_userid": external_userid}, []
    contact = dict(answer.get("external_contact") or {})
    contact.setdefault("external_userid", external_userid)
    return contact, list(answer.get("follow_user") or [])
