"""Callback ingress: verify, decrypt, check for replays, store, schedule dispatch.

Nothing here calls WeCom: the request only verifies and stores, so WeCom gets its answer in
milliseconds (it re-sends after 5 s). The stored WeComEvent is the source of truth; dispatch is
enqueued after commit, and the sweeper re-drives anything whose enqueue was lost.
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
from siyu.wecom.events import dedupe_key, parse_event, welcome_due
from siyu.wecom.ingress.selectors import event_get_for
from siyu.wecom.models import CallbackNonce, WeComEvent

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
                     body: bytes) -> Received:
    """Store one POSTed event (a no-op for a re-delivery) and enqueue its dispatch."""
    _required(msg_signature=msg_signature, timestamp=timestamp, nonce=nonce)
    if len(nonce) > NONCE_MAX_LENGTH:
        raise CallbackRejected("missing_params", "The nonce is too long.")
    crypto = crypto_for(corp)
    max_bytes = int(settings.SIYU_WECOM_CALLBACK_MAX_BYTES)
    if len(body) > max_bytes:
        raise CryptoError("too_large", f"The body is larger than {max_bytes} bytes.")
    ts = check_timestamp(timestamp)
    raw_xml = crypto.decrypt_message(msg_signature, timestamp, nonce, body, max_bytes=max_bytes)
    payload = parse_event(raw_xml)
    # No transaction around the two inserts: each commits on its own, so on SQLite the
    # database-wide write lock is held for one short statement at a time. Nothing needs them
    # together: a crash between them leaves a nonce whose byte-identical re-delivery (WeCom's
    # retry) is still accepted, and the event insert is what deduplicates.
    _claim_nonce(corp, nonce, ts, msg_signature.lower())
    received = _store_event(corp, raw_xml, payload)
    if received.created:
        # Runs at once after the insert's commit (or when an enclosing transaction commits).
        transaction.on_commit(lambda: _enqueue_dispatch(received.event))
    return received


def _insert(model, **fields):
    """One INSERT that may hit a unique constraint (IntegrityError). In autocommit mode it is a
    single statement, so SQLite's write lock is held only while the statement runs (atomic()
    would take it at BEGIN IMMEDIATE and keep it while Python builds the query). Inside a
    caller's transaction, a savepoint keeps that transaction usable after a conflict."""
    if transaction.get_autocommit():
        return model.objects.create(**fields)
    with transaction.atomic():
        return model.objects.create(**fields)


def _claim_nonce(corp, nonce: str, timestamp: int, msg_signature: str) -> None:
    try:
        _insert(CallbackNonce, corp=corp, nonce=nonce, timestamp=timestamp,
                msg_signature=msg_signature)
    except IntegrityError:
        seen = (CallbackNonce.objects.for_corp(corp).filter(nonce=nonce)
                .values_list("msg_signature", flat=True).first())
        # The same signature means the same timestamp, nonce and ciphertext: WeCom re-sending
        # one message, which the event's dedupe key makes harmless. Anything else is a replay.
        if seen != msg_signature:
            raise CallbackRejected("replayed_nonce", "This nonce was already used within the "
                                                     "replay window.") from None


def _store_event(corp, raw_xml: str, payload: dict) -> Received:
    key = dedupe_key(payload, raw_xml)
    try:
        event = _insert(WeComEvent, corp=corp, dedupe_key=key,
                        event=str(payload.get("Event", ""))[:64],
                        change_type=str(payload.get("ChangeType", ""))[:64],
                        create_time=payload["CreateTime"], raw_xml=raw_xml, payload=payload,
                        welcome_due=welcome_due(payload))
    except IntegrityError:
        return Received(WeComEvent.objects.for_corp(corp).get(dedupe_key=key), created=False)
    return Received(event, created=True)


def _enqueue_dispatch(event: WeComEvent) -> None:
    from siyu.wecom.tasks import dispatch_wecom_event

    dispatch_wecom_event.enqueue(event_id=event.pk, corp_id=event.corp_id)


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
        event.refresh_from_db()
        transaction.on_commit(lambda: _enqueue_dispatch(event))
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
