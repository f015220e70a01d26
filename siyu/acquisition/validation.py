"""A live code's own welcome message, checked by the same rules as the default welcomes
(siyu.engagement.welcome: text ≤4000 UTF-8 bytes, known placeholders, at most 9 attachments of
WeCom's kinds with their required fields), reported under the live code's field names."""

from siyu.core.errors import ValidationFailed
from siyu.engagement.welcome import welcome_validate

FIELDS = {"text": "welcome_text", "attachments": "welcome_attachments"}


def clean_welcome(text, attachments) -> tuple[str, list[dict]]:
    text = (text or "").strip()
    attachments = list(attachments or ())
    try:
        welcome_validate(text=text, attachments=attachments)
    except ValidationFailed as error:
        raise ValidationFailed(error.message, field_errors={
            FIELDS.get(field, field): messages
            for field, messages in error.field_errors.items()}) from error
    return text, attachments
