"""Callback ingress: verify, decrypt, store — one INSERT — and acknowledge.

Nothing here calls WeCom: the request only verifies and stores, so WeCom gets its answer in
milliseconds (it re-sends after 5 s). The stored WeComEvent is the source of truth and its own
queue entry: the feeder (siyu.wecom.feeder) hands it to a worker, so the request writes no job
row. The same insert records the nonce (a unique constraint with its timestamp catches a
replay), flags an add for the welcome lane and sets the event's ordering key.
"""

import contextlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from siyu.core.audit import audit_record
from siyu.core.errors import Conflict
from siyu.wecom.crypto import CryptoError, WeComCrypto
from siyu.wecom.events import dedupe_key, ordering_key, parse_event
from siyu.wecom.ingress.selectors import event_get_for
from siyu.wecom.models import WeComEvent
from siyu.wecom.welcome_feed import welcome_due

NONCE_MAX_LENGTH = 64


class CallbackRejected(Exception):
    """A well-formed callback refused by policy. ``reason``: missing_params, bad_timestamp,
    stale_timestamp, replayed_nonce, not_configured."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Received:
    event: WeComEvent
    created: bool  # False: a re-delivery of a stored event (nothing new was written)


def crypto_for(corp) -> WeComCrypto:
    if not corp.callback_token or not corp.encoding_aes_key:
        raise CallbackRejected("not_configured", "Callbacks are not configured for this "
                                                 "enterprise (token or EncodingAESKey missing).")
    try:
        return WeComCrypto(corp.callback_token, corp.encoding_aes_key, corp.corp_id)
    except CryptoError as exc:
        raise CallbackRejected("not_configured", f"The enterprise's callback settings are "
                                                 f"invalid: {exc.message}") from exc


def _required(**params) -> dict:
    missing = sorted(name for name, value in params.items() if not value)
    if missing:
        raise CallbackRejected("missing_params", f"Missing query parameters: "
                                                 f"{', '.join(missing)}.")
    return params


def callback_verify_url(*, corp, msg_signature: str, timestamp: str, nonce: str,
                        echostr: str) -> str:
    """URL verification (GET): the bare decrypted echostr."""
    _required(msg_signature=msg_signature, timestamp=timestamp, nonce=nonce, echostr=echostr)
    return crypto_for(corp).verify_url(msg_signature, timestamp, nonce, echostr)


def check_timestamp(timestamp: str, *, now: float | None = None) -> int:
    try:
        value = int(timestamp)
    except ValueError as exc:
        raise CallbackRejected("bad_timestamp", "The timestamp is not a number.") from exc
    window = int(settings.SIYU_WECOM_CALLBACK_WINDOW_SECONDS)
    skew = abs((time.time() if now is None else now) - value)
    if skew > window:
        raise CallbackRejected("stale_timestamp", f"The timestamp is {int(skew)} s away from "
                                                  f"now; at most {window} s are accepted.")
    return value


def callback_receive(*, corp, msg_signature: str, timestamp: str, nonce: str,
                     body: bytes, crypto: WeComCrypto | None = None) -> Received:
    """Store one POSTed event (a no-op for a re-delivery); ``crypto`` is the corp's, when the
    caller holds it already (siyu.wecom.callbacks caches it per corp)."""
    _required(msg_signature=msg_signature, timestamp=timestamp, nonce=nonce)
    if len(nonce) > NONCE_MAX_LENGTH:
        raise CallbackRejected("missing_params", "The nonce is too long.")
    crypto = crypto or crypto_for(corp)
    max_bytes = int(settings.SIYU_WECOM_CALLBACK_MAX_BYTES)
    if len(body) > max_bytes:
        raise CryptoError("too_large", f"The body is larger than {max_bytes} bytes.")
    ts = check_timestamp(timestamp)
    raw_xml = crypto.decrypt_message(msg_signature, timestamp, nonce, body, max_bytes=max_bytes)
    payload = parse_event(raw_xml)
    key = dedupe_key(payload, raw_xml)
    try:
        event = _insert(WeComEvent, corp_id=corp.pk, dedupe_key=key,
                        event=str(payload.get("Event", ""))[:64],
                        change_type=str(payload.get("ChangeType", ""))[:64],
                        create_time=payload["CreateTime"], raw_xml=raw_xml, payload=payload,
                        welcome_due=welcome_due(payload), ordering_key=ordering_key(payload),
                        nonce=nonce, nonce_timestamp=ts, msg_signature=msg_signature.lower())
    except IntegrityError:
        return Received(_stored_before(corp, key, nonce, ts, msg_signature.lower()),
                        created=False)
    return Received(event, created=True)


def _insert(model, **fields):
    """One INSERT that may hit a unique constraint (IntegrityError). In autocommit mode it is a
    single statement, so SQLite's write lock is held only while the statement runs (atomic()
    would take it at BEGIN IMMEDIATE and keep it while Python builds the query). Inside a
    caller's transaction, a savepoint keeps that transaction usable after a conflict."""
    if transaction.get_autocommit():
        return model.objects.create(**fields)
    with transaction.atomic():
        return model.objects.create(**fields)


def _stored_before(corp, key: str, nonce: str, timestamp: int, signature: str) -> WeComEvent:
    """The event a conflicting insert met: the same message again (WeCom's retry, or a
    byte-identical replay, which the dedupe key makes harmless), or — the nonce and timestamp
    of another message — a replay."""
    events = WeComEvent.objects.for_corp(corp)
    same_nonce = events.filter(nonce=nonce, nonce_timestamp=timestamp).first()
    if same_nonce is not None and same_nonce.msg_signature != signature:
        raise CallbackRejected("replayed_nonce", "This nonce was already used with another "
                                                 "message within the replay window.")
    return events.get(dedupe_key=key)


def event_redispatch(*, actor, event_id, ip: str | None = None) -> WeComEvent:
    """Dispatch a stored callback again (an admin action, e.g. after a handler was fixed)."""
    with transaction.atomic():
        event = event_get_for(actor, event_id)
        if event.status == WeComEvent.Status.DISPATCHING:
            raise Conflict(_("This callback is being dispatched right now; wait for the result."))
        # Conditional, so two admins clicking at once (or a worker finishing meanwhile)
        # cannot queue it twice from a stale read.
        reset = WeComEvent.objects.for_corp(actor.corp).filter(
            pk=event.pk, status=event.status).update(
            status=WeComEvent.Status.STORED, error="", next_attempt_at=None, claimed_at=None)
        if not reset:
            raise Conflict(_("This callback changed meanwhile; reload the page and try again."))
        audit_record(corp=actor.corp, actor=actor, action="wecom_event.redispatch", obj=event,
                     changes={"status": [event.status, WeComEvent.Status.STORED]}, ip=ip)
        event.refresh_from_db()  # stored again: the feeder hands it to a worker
    return event


def event_store_bare(*, corp, msg_signature: str, timestamp: str, nonce: str,
                     body: bytes) -> None:
    """bench/callbacks.py's baseline: verify, decrypt and insert — no replay checks, parsing,
    dedupe or dispatch. Rows are stored as "ignored" so nothing dispatches them."""
    raw_xml = crypto_for(corp).decrypt_message(msg_signature, timestamp, nonce, body)
    with contextlib.suppress(IntegrityError):  # the sender re-sent it
        _insert(WeComEvent, corp=corp,
                dedupe_key=f"bench-bare:{nonce}:{timestamp}:{msg_signature}"[:255],
                event="bench_bare", raw_xml=raw_xml, status=WeComEvent.Status.IGNORED,
                dispatched_at=timezone.now())
