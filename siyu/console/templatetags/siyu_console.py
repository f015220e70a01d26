"""Display helpers for console templates."""

import json

from django import template
from django.utils.translation import gettext as _

from siyu.console.audit_labels import action_label as _action_label

register = template.Library()

VALUE_MAX = 120


@register.filter
def audit_value(value) -> str:
    """One audited value as text: empty shows as a dash, lists as comma-separated items."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        text = ", ".join(audit_value(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


@register.filter
def action_label(code: str) -> str:
    return _action_label(code)


@register.filter
def action_tone(code: str) -> str:
    """Badge colour for an audit action: failures and deletions stand out."""
    if code.endswith((".failed", ".delete", ".end", ".merged_away")):
        return "danger"
    if code.endswith(".create") or code == "login":
        return "success"
    return "info"
