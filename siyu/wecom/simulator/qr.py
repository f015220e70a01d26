"""QR code images for the simulator's contact and join ways (segno: pure Python, PNG)."""

import io

import segno

SCALE = 8  # pixels per module: about 300 px for a short URL, as WeCom's images are
BORDER = 4  # the quiet zone the QR standard asks for


def qr_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=SCALE, border=BORDER)
    return out.getvalue()
