"""Readable names for audit action codes. Codes not listed here are shown as they are."""

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "login": _("Signed in"),
    "login.failed": _("Failed sign-in"),
    "corp.create": _("Registered the enterprise"),
    "user.create": _("Created a console user"),
    "token.create": _("Created an API token"),
    "customer.create": _("Created a customer"),
    "customer.update": _("Edited a customer"),
    "customer.tag": _("Tagged a customer"),
    "customer.untag": _("Removed a customer's tag"),
    "customer.note": _("Added a note"),
    "customer.merge": _("Merged a duplicate customer"),
    "customer.merged_away": _("Merged into another customer"),
    "follow.add": _("Customer added an employee"),
    "follow.end": _("Relationship ended"),
    "tag_group.create": _("Created a tag group"),
    "tag_group.update": _("Renamed a tag group"),
    "tag_group.delete": _("Deleted a tag group"),
    "tag.create": _("Created a tag"),
    "tag.update": _("Renamed a tag"),
    "tag.delete": _("Deleted a tag"),
    "job.retry": _("Retried a background job"),
    "wecom_event.redispatch": _("Dispatched a WeCom callback again"),
}


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))
