"""Timeline text is rendered when shown, in the reader's language, from the event's kind and
data; the stored ``summary`` (written in whatever language was active) is only the fallback,
e.g. for notes, whose text is the user's own."""

from django.utils.translation import gettext as _


def describe(event) -> str:
    from siyu.customers.models import FollowRelation, TimelineEvent

    kind, data = event.kind, event.data or {}
    kinds = TimelineEvent.Kind
    if kind == kinds.CREATED:
        return _("Customer created")
    if kind == kinds.UPDATED and isinstance(data.get("changes"), dict):
        return _("Profile updated: %(f)s") % {"f": ", ".join(sorted(data["changes"]))}
    if kind == kinds.TAGGED and data.get("tag"):
        return _("Tag added: %(t)s") % {"t": data["tag"]}
    if kind == kinds.UNTAGGED and data.get("tag"):
        return _("Tag removed: %(t)s") % {"t": data["tag"]}
    if kind == kinds.FOLLOW_ADDED and event.employee_id:
        if data.get("half"):
            return _("The customer added %(e)s, who has not accepted yet") % {
                "e": event.employee.name}
        if data.get("state") and data.get("channel_name"):
            return _("Added employee %(e)s through live code “%(c)s”") % {
                "e": event.employee.name, "c": data["channel_name"]}
        if data.get("state"):
            return _("Added employee %(e)s through channel %(s)s") % {
                "e": event.employee.name, "s": data["state"]}
        return _("Added employee %(e)s") % {"e": event.employee.name}
    wecom_text = _describe_wecom(event, kind, data)
    if wecom_text:
        return wecom_text
    if kind == kinds.FOLLOW_DELETED and data.get("deleted_by") in FollowRelation.DeletedBy.values:
        return str(FollowRelation.DeletedBy(data["deleted_by"]).label)
    if kind == kinds.MERGED and data.get("duplicate_name"):
        return _("Merged duplicate “%(n)s” (#%(id)d)") % {"n": data["duplicate_name"],
                                                          "id": int(data.get("duplicate_id") or 0)}
    return event.summary


def _describe_wecom(event, kind, data) -> str:
    """Entries written from WeCom callbacks (customers.reconcile, groups.services)."""
    from siyu.customers.models import TimelineEvent
    from siyu.customers.reconcile import TRANSFER_FAIL_REASONS

    kinds = TimelineEvent.Kind
    name = event.employee.name if event.employee_id else ""
    if kind == kinds.FOLLOW_EDITED and name:
        return _("%(e)s edited the remark or tags in WeCom") % {"e": name}
    if kind == kinds.TRANSFER_FAILED and name and data.get("reason") in TRANSFER_FAIL_REASONS:
        return _("Transfer to %(e)s failed: %(r)s") % {
            "e": name, "r": TRANSFER_FAIL_REASONS[data["reason"]]}
    group = data.get("group")
    if kind == kinds.GROUP_JOINED and group:
        return _("Joined group %(g)s") % {"g": group}
    if kind == kinds.GROUP_QUIT and group:
        if data.get("scene") == 1:
            return _("Removed from group %(g)s") % {"g": group}
        return _("Left group %(g)s") % {"g": group}
    return ""
