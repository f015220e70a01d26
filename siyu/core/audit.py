"""The audit log: every login and every change to customer data is recorded here."""

import datetime
import decimal
import uuid

from siyu.core.models import AuditLog


def _plain(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def diff(before: dict, after: dict) -> dict:
    """Field-wise ``{field: [old, new]}`` for the fields whose value changed."""
    changes = {}
    for key in sorted(set(before) | set(after)):
        old, new = _plain(before.get(key)), _plain(after.get(key))
        if old != new:
            changes[key] = [old, new]
    return changes


def audit_record(*, corp, actor, action, obj=None, changes=None, ip=None, object_type=None,
                 object_id=None, object_repr=None) -> AuditLog:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    actor_obj = actor if getattr(actor, "pk", None) else None
    return AuditLog.objects.create(
        corp=corp,
        actor=actor_obj,
        actor_label=(actor.get_username() if actor_obj else str(actor or "system"))[:150],
        action=action,
        object_type=object_type or "",
        object_id=str(object_id or ""),
        object_repr=(object_repr or "")[:200],
        changes={k: [_plain(v[0]), _plain(v[1])] for k, v in (changes or {}).items()},
        ip_address=ip,
    )
