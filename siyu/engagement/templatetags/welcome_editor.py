"""State of the welcome editor (``engagement/_welcome_editor.html``) from what the including
template has: the text, the WeCom-shaped attachments and the errors of a failed save."""

import json
import re

from django import template
from django.utils.translation import gettext_lazy as _

from siyu.engagement.welcome import ATTACHMENTS_MAX, PLACEHOLDERS, TEXT_MAX_BYTES
from siyu.engagement.welcome_editor import (
    ATTACHMENT_FIELDS,
    KIND_FIELDS,
    attachment_field,
    attachments_field,
    text_field,
)

register = template.Library()

KIND_LABELS = {
    "image": _("Image"),
    "link": _("Link"),
    "miniprogram": _("Mini program"),
    "video": _("Video"),
    "file": _("File"),
}
FIELD_LABELS = {
    "title": _("Title"),
    "url": _("Link URL"),
    "picurl": _("Cover image URL"),
    "desc": _("Description"),
    "media_id": _("Media ID"),
    "pic_url": _("Image URL"),
    "pic_media_id": _("Cover image media ID"),
    "appid": _("Mini program AppID"),
    "page": _("Page path"),
}
FIELD_HELP = {
    "media_id": _("From WeCom's temporary media upload; valid for 3 days."),
    "pic_url": _("For an image: give either the image URL or a media ID, not both."),
    "page": _("For example pages/index/index.html"),
}
# Error keys a caller may hand over besides the editor's own: the welcome rules' ("text",
# "attachments") and a live code's ("welcome_text", "welcome_attachments").
_TEXT_KEYS = ("text", "welcome_text")
_ATTACHMENTS_KEYS = ("attachments", "welcome_attachments")


def _attachments(value) -> list:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            return []
    return list(value) if isinstance(value, list | tuple) else []


def _fields(prefix: str, index: int, kind: str, body: dict, errors: dict) -> list[dict]:
    fields = []
    for key in ATTACHMENT_FIELDS:
        kinds = [k for k, keys in KIND_FIELDS.items() if key in keys]
        fields.append({
            "key": key, "name": attachment_field(prefix, index, key),
            "label": FIELD_LABELS.get(key, key), "help": FIELD_HELP.get(key, ""),
            "kinds": " ".join(kinds), "shown": kind in kinds,
            "value": body.get(key, "") if kind in kinds else "",
            "errors": errors.get(attachment_field(prefix, index, key), []),
            "multiline": key == "desc",
        })
    return fields


def _row(prefix: str, index, item, errors: dict) -> dict:
    """One attachment row; ``index`` is "__index__" for the blank row new ones are cloned
    from (the script numbers them)."""
    kind = item.get("msgtype", "") if isinstance(item, dict) else ""
    body = item.get(kind) if isinstance(item, dict) else None
    return {
        "index": index, "number": index + 1 if isinstance(index, int) else "", "kind": kind,
        "kind_name": attachment_field(prefix, index, "msgtype"),
        "kind_errors": errors.get(attachment_field(prefix, index, "msgtype"), []),
        "errors": errors.get(attachment_field(prefix, index), []),
        "fields": _fields(prefix, index, kind, body if isinstance(body, dict) else {}, errors),
    }


@register.simple_tag
def welcome_editor(prefix="welcome", text="", attachments=None, errors=None) -> dict:
    prefix = prefix or "welcome"
    errors = errors if isinstance(errors, dict) else {}
    text = text or ""
    text_errors = [m for key in (text_field(prefix), *_TEXT_KEYS) for m in errors.get(key, [])]
    list_errors = [m for key in (attachments_field(prefix), *_ATTACHMENTS_KEYS)
                   for m in errors.get(key, [])]
    # Messages about attachment i that were not placed on a field of a row shown here.
    row_pattern = re.compile(rf"^{re.escape(prefix)}-attachments-(\d+)(-|$)")
    items = _attachments(attachments)
    rows = [_row(prefix, index, item, errors) for index, item in enumerate(items)]
    for key, messages in errors.items():
        match = row_pattern.match(key)
        if match and int(match.group(1)) >= len(rows):
            list_errors.extend(messages)
    return {
        "prefix": prefix, "text": text, "text_name": text_field(prefix),
        "bytes": len(text.encode("utf-8")), "max_bytes": TEXT_MAX_BYTES,
        "text_errors": text_errors, "list_errors": list_errors,
        "placeholders": [f"{{{name}}}" for name in PLACEHOLDERS],
        "rows": rows, "blank_row": _row(prefix, "__index__", {}, {}),
        "kinds": list(KIND_LABELS.items()), "max_attachments": ATTACHMENTS_MAX,
        "full": len(rows) >= ATTACHMENTS_MAX,
    }
