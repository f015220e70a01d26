"""The welcome editor's form fields (template ``engagement/_welcome_editor.html``) parsed back into
WeCom-shaped welcome content.

The editor posts ``<prefix>-text`` and, per attachment row, ``<prefix>-attachments-<n>-msgtype``
plus that kind's fields (``-title``, ``-url``, ``-media_id`` ...). Row numbers may have gaps
(rows removed in the browser); rows are taken in numeric order. The rules themselves live in
``siyu.engagement.welcome``; this module only maps their findings onto the form's fields.
"""

import re
from collections.abc import Mapping

from django.utils.translation import gettext as _

from siyu.core.errors import ValidationFailed
from siyu.engagement.welcome import (
    ATTACHMENT_KINDS,
    attachments_problems,
    text_errors,
)

# Each kind's fields in the order WeCom documents them; the editor shows one input per key.
KIND_FIELDS = {kind: required + one_of + optional
               for kind, (required, optional, one_of) in ATTACHMENT_KINDS.items()}
ATTACHMENT_FIELDS = tuple(dict.fromkeys(key for keys in KIND_FIELDS.values() for key in keys))


class WelcomeFormInvalid(ValidationFailed):
    """ValidationFailed that also carries the content as typed, so the form can be shown again
    with every value and each message next to its field."""

    def __init__(self, message, *, field_errors, text: str, attachments: list[dict]):
        super().__init__(message, field_errors=field_errors)
        self.text = text
        self.attachments = attachments


def text_field(prefix: str) -> str:
    return f"{prefix}-text"


def attachments_field(prefix: str) -> str:
    return f"{prefix}-attachments"


def attachment_field(prefix: str, index: int, key: str | None = None) -> str:
    """The error key (and, for a posted row, the input name) of attachment ``index``'s ``key``;
    without a key, the attachment as a whole."""
    base = f"{prefix}-attachments-{index}"
    return f"{base}-{key}" if key else base


def _row_numbers(post: Mapping, prefix: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(prefix)}-attachments-(\d+)-([a-z_]+)$")
    numbers = {int(m.group(1)) for name in post if (m := pattern.match(name))}
    return sorted(numbers)


def _value(post: Mapping, name: str) -> str:
    return str(post.get(name) or "").strip()


def _attachment(post: Mapping, prefix: str, number: int) -> dict | None:
    """The row as a WeCom attachment; None for a row left completely empty."""
    msgtype = _value(post, attachment_field(prefix, number, "msgtype"))
    if msgtype not in KIND_FIELDS:
        typed = any(_value(post, attachment_field(prefix, number, key))
                    for key in ATTACHMENT_FIELDS)
        return {"msgtype": msgtype} if msgtype or typed else None
    body = {}
    for key in KIND_FIELDS[msgtype]:
        if value := _value(post, attachment_field(prefix, number, key)):
            body[key] = value
    return {"msgtype": msgtype, msgtype: body}


def welcome_from_post(post: Mapping, prefix: str = "welcome") -> tuple[str, list[dict]]:
    """(text, attachments) from the editor's fields, checked by the welcome rules.

    Raises WelcomeFormInvalid (a ValidationFailed) with messages under ``<prefix>-text``,
    ``<prefix>-attachments`` (the list as a whole), ``<prefix>-attachments-<i>`` (attachment i
    as a whole) and ``<prefix>-attachments-<i>-<key>`` (one field), where i is the attachment's
    0-based position in the returned order, which is how the editor shows them again."""
    text = str(post.get(text_field(prefix)) or "").replace("\r\n", "\n")
    attachments = [item for number in _row_numbers(post, prefix)
                   if (item := _attachment(post, prefix, number)) is not None]
    field_errors: dict[str, list[str]] = {}
    if errors := text_errors(text):
        field_errors[text_field(prefix)] = errors
    for problem in attachments_problems(attachments):
        if problem.index is None:
            name = attachments_field(prefix)
        else:
            name = attachment_field(prefix, problem.index, problem.key)
        field_errors.setdefault(name, []).append(problem.message)
    if field_errors:
        raise WelcomeFormInvalid(_("The welcome message is not valid."),
                                 field_errors=field_errors, text=text, attachments=attachments)
    return text, attachments
