"""Welcome messages against WeCom's limits (send_welcome_msg): text ≤4000 UTF-8 bytes, at
most 9 attachments of the kinds WeCom accepts, each with the fields WeCom requires."""

from django.utils.translation import gettext as _

from siyu.core.errors import ValidationFailed

TEXT_MAX_BYTES = 4000
ATTACHMENTS_MAX = 9
# Per kind, the fields WeCom needs; "image" takes either an uploaded media_id or a pic_url.
REQUIRED = {
    "image": (("media_id", "pic_url"),),
    "link": (("title",), ("url",)),
    "miniprogram": (("title",), ("pic_media_id",), ("appid",), ("page",)),
    "video": (("media_id",),),
    "file": (("media_id",),),
}


def _refuse(field, message):
    raise ValidationFailed(_("The welcome message does not fit WeCom's limits."),
                           field_errors={field: [message]})


def clean_welcome(text, attachments) -> tuple[str, list[dict]]:
    text = (text or "").strip()
    if len(text.encode("utf-8")) > TEXT_MAX_BYTES:
        _refuse("welcome_text", _("At most %(n)d bytes (about 1300 Chinese characters); this "
                                  "text has %(m)d.")
                % {"n": TEXT_MAX_BYTES, "m": len(text.encode("utf-8"))})
    attachments = list(attachments or ())
    if len(attachments) > ATTACHMENTS_MAX:
        _refuse("welcome_attachments", _("At most %(n)d attachments; remove %(m)d.")
                % {"n": ATTACHMENTS_MAX, "m": len(attachments) - ATTACHMENTS_MAX})
    clean = []
    for position, item in enumerate(attachments, start=1):
        kind = item.get("msgtype") if isinstance(item, dict) else None
        if kind not in REQUIRED:
            _refuse("welcome_attachments",
                    _("Attachment %(i)d: the kind must be image, link, miniprogram, video or "
                      "file.") % {"i": position})
        body = item.get(kind)
        if not isinstance(body, dict):
            body = {}
        for alternatives in REQUIRED[kind]:
            if not any(str(body.get(f) or "").strip() for f in alternatives):
                _refuse("welcome_attachments",
                        _("Attachment %(i)d (%(kind)s) needs %(field)s.")
                        % {"i": position, "kind": kind, "field": " / ".join(alternatives)})
        clean.append({"msgtype": kind, kind: body})
    if not text and not clean:
        return "", []
    return text, clean
