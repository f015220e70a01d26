"""QR code images of contact ways. WeCom answers ``add_contact_way`` with ``qr_code``, the URL
of an image on its CDN; the console shows it, offers it as a PNG download and prints it on a
poster, so Siyu fetches the bytes itself (other apps may not talk HTTP).

Only WeCom's image hosts and the corp's own API host (the simulator, or a proxy in front of
WeCom) are fetched: the URL is stored data, and a server that fetches whatever URL a row holds
is a way into the internal network."""

from urllib.parse import urlsplit

import httpx
from django.utils.translation import gettext as _

from siyu.core.errors import DomainError

MAX_BYTES = 2 * 1024 * 1024  # WeCom's QR images are a few KB; anything larger is not one
TIMEOUT_SECONDS = 10.0
# WeCom serves contact way QR codes from its picture CDN (wework.qpic.cn and others).
WECOM_IMAGE_HOST_SUFFIXES = (".qpic.cn", ".qq.com")


class QrImageUnavailable(DomainError):
    """The QR code image could not be fetched; the message says why and what to do."""

    status_code = 502
    code = "qr_image_unavailable"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _allowed(corp, url: str) -> bool:
    scheme, host, port = _origin(url)
    if scheme not in ("http", "https") or not host:
        return False
    if scheme == "https" and any(host.endswith(s) for s in WECOM_IMAGE_HOST_SUFFIXES):
        return True
    base_scheme, base_host, base_port = _origin(corp.api_base_url or "")
    return (scheme, host, port) == (base_scheme, base_host, base_port)


def qr_image_fetch(corp, url: str, *, transport: httpx.BaseTransport | None = None) -> bytes:
    """The image bytes behind a contact way's ``qr_code`` URL (at most ``MAX_BYTES``).

    Raises :class:`QrImageUnavailable` when the URL is empty or not WeCom's, WeCom cannot be
    reached in ``TIMEOUT_SECONDS``, or the answer is not an image of a sensible size."""
    if not url:
        raise QrImageUnavailable(_("WeCom has not given this code a QR image yet."))
    if not _allowed(corp, url):
        raise QrImageUnavailable(_("The QR image address is not a WeCom address, so it was "
                                   "not fetched."))
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False,
                          transport=transport) as http, http.stream("GET", url) as response:
            if response.status_code != 200:
                raise QrImageUnavailable(
                    _("WeCom answered HTTP %(status)s for the QR image; try again later.")
                    % {"status": response.status_code})
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if not kind.startswith("image/"):
                raise QrImageUnavailable(_("WeCom did not answer with an image for the QR "
                                           "code; try again later."))
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BYTES:
                raise QrImageUnavailable(_("The QR image is larger than expected, so it was "
                                           "not fetched."))
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise QrImageUnavailable(_("The QR image is larger than expected, so it "
                                               "was not fetched."))
    except httpx.TimeoutException as exc:
        raise QrImageUnavailable(_("WeCom did not send the QR image in time; try again "
                                   "later.")) from exc
    except httpx.HTTPError as exc:
        raise QrImageUnavailable(_("The QR image could not be fetched from WeCom; check the "
                                   "network and try again.")) from exc
    if not body:
        raise QrImageUnavailable(_("WeCom sent an empty QR image; try again later."))
    return bytes(body)
