"""Reading WeCom's current view for the subscribers of WeCom events.

A callback says only *that* something changed; its subscribers read what WeCom holds now
(``externalcontact/get``, ``groupchat/get``, the tag list) and tell "WeCom no longer has it"
(go on with what the callback says) from a failure worth a retry.
"""

from siyu.core.jobs import TransientError
from siyu.wecom.client import sync_client_for
from siyu.wecom.errors import WeComError

# Answers meaning the object is gone in WeCom; its delete callback comes, or came, on its own.
CONTACT_GONE = frozenset({84061, 40096})  # no such relationship / unknown external_userid
CHAT_GONE = frozenset({40050})  # chat id not found: the group was dismissed
TAG_GONE = frozenset({40068})  # tag or group id not found: deleted

# Tests point this at a fake or a simulator-backed client.
client_factory = sync_client_for


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


def contact_view(answer: dict | None, external_userid: str) -> tuple[dict, list]:
    """(external_contact, follow_user) from externalcontact/get's answer; just the id when
    WeCom no longer has any relationship with this customer (no answer)."""
    if not answer:
        return {"external_userid": external_userid}, []
    contact = dict(answer.get("external_contact") or {})
    contact.setdefault("external_userid", external_userid)
    return contact, list(answer.get("follow_user") or [])


def customer_view(corp, external_userid: str) -> tuple[dict, list]:
    """(external_contact, follow_user) as WeCom reports them now."""
    answer = fetch(client(corp).get_external_contact, external_userid, gone=CONTACT_GONE)
    return contact_view(answer, external_userid)


def group_chat(corp, chat_id: str) -> dict | None:
    """The group as WeCom reports it now; None once it is dismissed."""
    answer = fetch(client(corp).groupchat_get, chat_id, gone=CHAT_GONE)
    return (answer or {}).get("group_chat") or None


def corp_tag_groups(corp, **ids) -> list:
    """Corp tag groups (all, or those of ``tag_id=[…]`` / ``group_id=[…]``)."""
    answer = fetch(client(corp).get_corp_tag_list, gone=TAG_GONE, **ids)
    return list((answer or {}).get("tag_group") or [])
