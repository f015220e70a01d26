"""Validation of customer input: every problem is reported per field, nothing is half-written."""

import datetime
import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from siyu.core.errors import ValidationFailed

PHONE_RE = re.compile(r"^\+?[0-9][0-9\- ]{4,19}$")
EDITABLE_FIELDS = {
    "name", "avatar", "type", "gender", "phones", "email", "birthday", "region", "company",
    "custom_fields", "unionid", "external_userid",
}
MAX_CUSTOM_FIELDS = 50


def clean_customer_fields(data: dict, *, partial: bool) -> dict:
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - EDITABLE_FIELDS)
    for field in unknown:
        errors[field] = [_("Unknown field. Editable fields: %(f)s.")
                         % {"f": ", ".join(sorted(EDITABLE_FIELDS))}]
    clean: dict = {}

    def check(field, fn):
        if field not in data:
            return
        try:
            clean[field] = fn(data[field])
        except ValidationError as exc:
            errors[field] = list(exc.messages)

    check("name", _name)
    check("avatar", _avatar)
    check("type", lambda v: _choice(v, (0, 1, 2)))
    check("gender", lambda v: _choice(v, (0, 1, 2)))
    check("phones", _phones)
    check("email", _email)
    check("birthday", _birthday)
    check("region", lambda v: _text(v, 100))
    check("company", lambda v: _text(v, 100))
    check("unionid", lambda v: _text(v, 64))
    check("external_userid", lambda v: _text(v, 64) or None)
    check("custom_fields", _custom_fields)
    if not partial and "name" not in data:
        errors["name"] = [_("Required: the customer's name.")]
    if errors:
        raise ValidationFailed(_("Some fields are not valid; nothing was saved."),
                               field_errors=errors)
    return clean


def _text(value, max_length):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(_("Must be text."))
    value = value.strip()
    if len(value) > max_length:
        raise ValidationError(_("At most %(n)d characters.") % {"n": max_length})
    return value


def _name(value):
    value = _text(value, 64)
    if not value:
        raise ValidationError(_("Required: the customer's name."))
    return value


def _avatar(value):
    value = _text(value, 500)
    if value:
        URLValidator(schemes=["http", "https"])(value)
    return value


def _choice(value, allowed):
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise ValidationError(_("Must be one of %(a)s.") % {"a": ", ".join(map(str, allowed))})
    return value


def _phones(value):
    if value is None:
        return []
    if isinstance(value, str):
        value = [p for p in re.split(r"[,，;；\s]+", value) if p]
    if not isinstance(value, list):
        raise ValidationError(_("Give a list of phone numbers."))
    phones = []
    for raw in value:
        phone = str(raw).strip()
        if not PHONE_RE.match(phone):
            raise ValidationError(
                _("“%(p)s” is not a phone number: use digits, optionally starting with +.")
                % {"p": phone[:30]}
            )
        if phone not in phones:
            phones.append(phone)
    if len(phones) > 10:
        raise ValidationError(_("At most 10 phone numbers."))
    return phones


def _email(value):
    value = _text(value, 254)
    if value:
        validate_email(value)
    return value


def _birthday(value):
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        day = value
    else:
        try:
            day = datetime.date.fromisoformat(str(value))
        except ValueError:
            raise ValidationError(_("Use a date like 1990-05-20.")) from None
    if day > timezone.localdate() or day.year < 1900:
        raise ValidationError(_("The birthday must be between 1900 and today."))
    return day


def _custom_fields(value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(_("Give an object of name → value."))
    if len(value) > MAX_CUSTOM_FIELDS:
        raise ValidationError(_("At most %(n)d custom fields.") % {"n": MAX_CUSTOM_FIELDS})
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 50:
            raise ValidationError(_("Field names are 1–50 characters."))
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ValidationError(_("“%(k)s”: values are text, numbers or true/false.")
                                  % {"k": key})
        if isinstance(item, str) and len(item) > 500:
            raise ValidationError(_("“%(k)s”: at most 500 characters.") % {"k": key})
    return value
