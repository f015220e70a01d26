"""Pieces the acquisition console views share, so live, group and store codes behave alike:
the QR PNG response, the page when WeCom withholds the QR image, and the answer to a write
the service refused."""

import re
from urllib.parse import quote

from django.http import HttpResponse
from django.utils.translation import gettext as _

from siyu.console.access import render_page
from siyu.core.errors import Conflict, ValidationFailed
from siyu.wecom.errors import WeComTransientError

# What a code's create/edit form catches; anything else (404, 403) is console_view's.
REFUSALS = (ValidationFailed, Conflict, WeComTransientError)


def refusal(exc) -> tuple[str, dict, int]:
    """(form-level message, field errors, status) for one of ``REFUSALS``; nothing was saved."""
    if isinstance(exc, ValidationFailed):
        return exc.message, exc.field_errors, 422
    if isinstance(exc, Conflict):
        return exc.message, {}, 409
    return _("WeCom is busy or could not be reached. Try again in a minute."), {}, 503


def _file_name(name: str, default: str) -> str:
    """A code's name as a file name: path separators and control characters out."""
    return (re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]+', " ", name).strip() or default) + ".png"


def qr_png_response(request, image: bytes, *, fallback: str, name: str = "") -> HttpResponse:
    """``fallback`` is an ASCII file stem for old clients; ``name`` (often Chinese) rides along
    per RFC 5987/6266 when given."""
    response = HttpResponse(image, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    if request.GET.get("download"):
        disposition = f'attachment; filename="{fallback}.png"'
        if name:
            disposition += f"; filename*=UTF-8''{quote(_file_name(name, fallback), safe='')}"
        response["Content-Disposition"] = disposition
    return response


def qr_error_page(request, code, exc, back_url: str) -> HttpResponse:
    """WeCom would not give the code's QR image (502): the reason, and a link back."""
    return render_page(request, "acquisition/qr_error.html",
                       {"code": code, "message": exc.message, "back_url": back_url}, status=502)
