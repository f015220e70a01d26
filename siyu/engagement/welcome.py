"""Welcome message content: validation against WeCom's limits and placeholder rendering.

Pure functions, shared by the default templates here and by live codes (acquisition), which
carry their own welcome text and attachments.
"""

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from siyu.core.errors import ValidationFailed

TEXT_MAX_BYTES = 4000
ATTACHMENTS_MAX = 9
LINK_TITLE_MAX_BYTES = 128
PLACEHOLDERS = ("customer_name", "employee_name")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

# msgtype -> (required keys, optional keys, groups of which exactly one is required)
ATTACHMENT_KINDS = {
    "image": ((), (), ("media_id", "pic_url")),
    "link": (("title", "url"), ("picurl", "desc"), ()),
    "miniprogram": (("title", "pic_media_id", "appid", "page"), (), ()),
    "video": (("media_id",), (), ()),
    "file": (("media_id",), (), ()),
}


@dataclass(frozen=True)
class Welcome:
    """Resolved welcome content and where it came from (a WelcomeDelivery.Source value)."""

    text: str = ""
    attachments: list = field(default_factory=list)
    source: str = ""


def _bytes(value: str) -> int:
    return len(value.encode("utf-8"))


def text_errors(text: str) -> list[str]:
    errors = []
    size = _bytes(text)
    if size > TEXT_MAX_BYTES:
        errors.append(_("The text is %(size)d bytes long; WeCom accepts at most %(max)d bytes "
                        "(a Chinese character takes 3). Shorten it.")
                      % {"size": size, "max": TEXT_MAX_BYTES})
    for name in dict.fromkeys(_PLACEHOLDER.findall(text)):
        if name not in PLACEHOLDERS:
            errors.append(_("Unknown placeholder {%(name)s}; use one of: %(known)s.")
                          % {"name": name,
                             "known": ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)})
    return errors


@dataclass(frozen=True)
class AttachmentProblem:
    """One thing wrong with the attachments: ``index`` is the attachment's 0-based position
    (None for the list as a whole), ``key`` the field at fault (None for the attachment as a
    whole), so a form can show the message next to the field it is about."""

    index: int | None
    key: str | None
    message: str


def _attachment_problems(index: int, item) -> list[AttachmentProblem]:
    number = index + 1
    kinds = ", ".join(ATTACHMENT_KINDS)
    msgtype = item.get("msgtype") if isinstance(item, dict) else None
    if msgtype not in ATTACHMENT_KINDS:
        return [AttachmentProblem(index, "msgtype", _(
            "Attachment %(n)d: the type must be one of %(kinds)s.")
            % {"n": number, "kinds": kinds})]
    body = item.get(msgtype)
    if not isinstance(body, dict):
        return [AttachmentProblem(index, None, _(
            "Attachment %(n)d: the %(kind)s details are missing.")
            % {"n": number, "kind": msgtype})]
    required, optional, one_of = ATTACHMENT_KINDS[msgtype]
    problems = []
    for key in required:
        if not str(body.get(key) or "").strip():
            problems.append(AttachmentProblem(index, key, _(
                "Attachment %(n)d (%(kind)s): %(key)s is required; fill it in.")
                % {"n": number, "kind": msgtype, "key": key}))
    if one_of and sum(1 for key in one_of if str(body.get(key) or "").strip()) != 1:
        problems.append(AttachmentProblem(index, None, _(
            "Attachment %(n)d (%(kind)s): give exactly one of %(keys)s, and leave the "
            "other empty.") % {"n": number, "kind": msgtype, "keys": " / ".join(one_of)}))
    unknown = sorted(set(body) - set(required) - set(optional) - set(one_of))
    if unknown:
        problems.append(AttachmentProblem(index, None, _(
            "Attachment %(n)d (%(kind)s): unknown field(s) %(keys)s.")
            % {"n": number, "kind": msgtype, "keys": ", ".join(unknown)}))
    if msgtype == "link" and _bytes(str(body.get("title") or "")) > LINK_TITLE_MAX_BYTES:
        problems.append(AttachmentProblem(index, "title", _(
            "Attachment %(n)d (link): the title is longer than %(max)d bytes; shorten it.")
            % {"n": number, "max": LINK_TITLE_MAX_BYTES}))
    return problems


def attachments_problems(attachments) -> list[AttachmentProblem]:
    if not isinstance(attachments, list):
        return [AttachmentProblem(None, None, _("Attachments must be a list."))]
    if len(attachments) > ATTACHMENTS_MAX:
        return [AttachmentProblem(None, None, _(
            "%(count)d attachments given; WeCom accepts at most %(max)d. Remove some.")
            % {"count": len(attachments), "max": ATTACHMENTS_MAX})]
    problems = []
    for index, item in enumerate(attachments):
        problems.extend(_attachment_problems(index, item))
    return problems


def attachments_errors(attachments) -> list[str]:
    return [problem.message for problem in attachments_problems(attachments)]


def welcome_validate(*, text: str, attachments) -> None:
    """Raises ValidationFailed naming each bad field; also used for live codes' welcomes."""
    field_errors = {}
    if errors := text_errors(text or ""):
        field_errors["text"] = errors
    if errors := attachments_errors(attachments):
        field_errors["attachments"] = errors
    if field_errors:
        raise ValidationFailed(_("The welcome message is not valid."), field_errors=field_errors)


def welcome_render(text: str, *, customer_name: str = "", employee_name: str = "") -> str:
    """Fills the known placeholders; anything else in braces is left as written."""
    values = {"customer_name": customer_name, "employee_name": employee_name}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
