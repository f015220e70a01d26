"""The PNG response every code's QR view returns: shown inline on the pages, or as a file with
``?download=1``. One place so the live, group and store code downloads behave alike."""

import re
from urllib.parse import quote

from django.http import HttpResponse


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
