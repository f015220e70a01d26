"""The endpoint WeCom calls: GET /wecom/callback/<corp_id>/ (URL check), POST (events).

Every rejection is a short plain-text 4xx and one WARNING line naming the reason and the corp;
nothing a sender can put in a request produces a 500. CSRF is off for these views only: WeCom
signs its requests instead.
"""

import logging
import time

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from siyu.accounts.models import Corp
from siyu.wecom.crypto import CryptoError, WeComCrypto
from siyu.wecom.ingress.services import (
    CallbackRejected,
    callback_receive,
    callback_verify_url,
    crypto_for,
    event_store_bare,
)

logger = logging.getLogger("siyu.wecom.callbacks")

STATUS_FOR_REASON = {
    "bad_signature": 403,
    "bad_receiveid": 403,
    "stale_timestamp": 403,
    "replayed_nonce": 403,
    "not_configured": 403,
    "too_large": 413,
}  # every other reason: 400


def _plain(text: str, status: int = 200) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


# A corp's callback credentials, kept briefly per process: loading them costs a query and two
# Fernet decryptions, more than the rest of a callback. A changed token, key or deactivation
# applies within CREDENTIALS_SECONDS.
CREDENTIALS_SECONDS = 10.0
_credentials: dict[str, tuple[float, Corp, WeComCrypto]] = {}


@receiver([post_save, post_delete], sender=Corp)
def _forget_credentials(sender, instance, **kwargs):
    # Edited here: this process sees it at once; other processes within CREDENTIALS_SECONDS.
    _credentials.clear()


def _corp(corp_id: str) -> Corp | None:
    # Only what ingress needs: every encrypted field loaded costs a Fernet decryption.
    return (Corp.objects.filter(corp_id=corp_id, is_active=True)
            .only("id", "corp_id", "callback_token", "encoding_aes_key").first())


def _credentials_for(corp_id: str) -> tuple[Corp, WeComCrypto] | None:
    """(corp, its crypto), from the cache while fresh; None for no active corp. Raises
    CallbackRejected when the corp's callback settings are missing or invalid."""
    cached = _credentials.get(corp_id)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1], cached[2]
    corp = _corp(corp_id)
    if corp is None:
        _credentials.pop(corp_id, None)
        return None
    crypto = crypto_for(corp)
    _credentials[corp_id] = (now + CREDENTIALS_SECONDS, corp, crypto)
    return corp, crypto


def _query(request) -> dict:
    get = request.GET
    return {"msg_signature": get.get("msg_signature", ""), "timestamp": get.get("timestamp", ""),
            "nonce": get.get("nonce", "")}


def _read_body(request) -> bytes:
    limit = int(settings.SIYU_WECOM_CALLBACK_MAX_BYTES)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:  # refuse before reading
        raise CryptoError("too_large", f"The body is larger than {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise CryptoError("too_large", f"The body is larger than {limit} bytes.")
    return body


def _reject(request, corp_id: str, exc: CryptoError | CallbackRejected) -> HttpResponse:
    status = STATUS_FOR_REASON.get(exc.reason, 400)
    logger.warning("WeCom callback rejected: reason=%s corp=%s method=%s status=%d: %s",
                   exc.reason, corp_id, request.method, status, exc.message)
    return _plain(f"{exc.reason}: {exc.message}", status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def callback_view(request, corp_id: str):
    if request.method == "GET":  # the URL check, rare: always read fresh
        corp, crypto = _corp(corp_id), None
    else:
        try:
            corp, crypto = _credentials_for(corp_id) or (None, None)
        except CallbackRejected as exc:
            return _reject(request, corp_id, exc)
    if corp is None:
        logger.warning("WeCom callback rejected: reason=unknown_corp corp=%s method=%s status=404",
                       corp_id[:64], request.method)
        return _plain("unknown_corp: No active enterprise has this CorpID.", 404)
    try:
        if request.method == "GET":
            echo = callback_verify_url(corp=corp, echostr=request.GET.get("echostr", ""),
                                       **_query(request))
            return _plain(echo)
        received = callback_receive(corp=corp, body=_read_body(request), crypto=crypto,
                                    **_query(request))
    except (CryptoError, CallbackRejected) as exc:
        return _reject(request, corp_id, exc)
    if not received.created:
        logger.info("WeCom callback for corp %s re-delivered; event %s already stored.",
                    corp_id, received.event.pk)
    return _plain("")


@csrf_exempt
@require_http_methods(["POST"])
def bench_bare_view(request, corp_id: str):
    """Baseline for bench/callbacks.py; exists only with SIYU_BENCH_BARE_ENDPOINT=1."""
    if not settings.SIYU_BENCH_BARE_ENDPOINT:
        raise Http404("The bench endpoint is off.")
    corp = _corp(corp_id)
    if corp is None:
        return _plain("unknown_corp", 404)
    try:
        event_store_bare(corp=corp, body=_read_body(request), **_query(request))
    except (CryptoError, CallbackRejected) as exc:
        return _reject(request, corp_id, exc)
    return _plain("")
