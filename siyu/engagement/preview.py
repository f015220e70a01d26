"""What the console shows for a welcome before it is sent: the text with sample names and
each attachment as the card a customer would see."""

from urllib.parse import urlsplit

from siyu.engagement.welcome import welcome_render

PREVIEW_NAMES = {"customer_name": "王小明", "employee_name": "李娜"}


def _web_url(value) -> str:
    """Only http(s) addresses are used as image sources or link targets in the preview."""
    value = str(value or "").strip()
    return value if urlsplit(value).scheme in ("http", "https") else ""


def _card(item: dict) -> dict:
    kind = item.get("msgtype", "")
    body = item.get(kind) if isinstance(item.get(kind), dict) else {}
    card = {"kind": kind, "title": body.get("title", ""), "desc": body.get("desc", ""),
            "media_id": body.get("media_id") or body.get("pic_media_id") or "",
            "appid": body.get("appid", ""), "page": body.get("page", "")}
    if kind == "image":
        card["image"] = _web_url(body.get("pic_url"))
    elif kind == "link":
        card["image"] = _web_url(body.get("picurl"))
        card["url"] = _web_url(body.get("url"))
        card["host"] = urlsplit(str(body.get("url") or "")).hostname or ""
    return card


def welcome_preview(text: str, attachments: list) -> dict:
    return {"text": welcome_render(text, **PREVIEW_NAMES),
            "cards": [_card(item) for item in attachments if isinstance(item, dict)]}
