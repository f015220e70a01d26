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
        return _("Added employee %(e)s") % {"e": event.employee.name}
    if kind == kinds.FOLLOW_DELETED and data.get("deleted_by") in FollowRelation.DeletedBy.values:
        return str(FollowRelation.DeletedBy(data["deleted_by"]).label)
    if kind == kinds.MERGED and data.get("duplicate_name"):
        return _("Merged duplicate “%(n)s” (#%(id)d)") % {"n": data["duplicate_name"],
                                                          "id": int(data.get("duplicate_id") or 0)}
    return event.summary
