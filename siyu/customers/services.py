"""Writes for customers by operators and the API: create, update, tag, untag, merge, follow
relations. All audited. What WeCom reports about a customer is applied by
``siyu.customers.reconcile``."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from siyu.accounts.scoping import require
from siyu.core.audit import audit_record, diff
from siyu.core.errors import Conflict, ValidationFailed
from siyu.customers.models import Customer, CustomerTag, FollowRelation, TimelineEvent
from siyu.customers.validation import clean_customer_fields


def _check(actor, permission):
    # actor=None is the system itself (sync, demo seed); users always pass through require().
    if actor is not None:
        require(actor, permission)


def _snapshot(customer: Customer, fields) -> dict:
    return {f: getattr(customer, f) for f in fields}


def timeline_add(*, corp, customer, kind, summary, actor=None, employee=None, data=None,
                 occurred_at=None) -> TimelineEvent:
    return TimelineEvent.objects.create(
        corp=corp, customer=customer, kind=kind, summary=summary[:255],
        actor=actor if getattr(actor, "pk", None) else None, employee=employee,
        data=data or {}, occurred_at=occurred_at or timezone.now(),
    )


def customer_create(*, corp, actor, data: dict, owner=None) -> Customer:
    """Creates a customer; a staff user becomes its owner so they keep seeing it."""
    _check(actor, "customers.create")
    fields = clean_customer_fields(data, partial=False)
    if owner is None and actor is not None and actor.employee_id:
        owner = actor.employee
    with transaction.atomic():
        ext = fields.get("external_userid")
        if ext and Customer.objects.for_corp(corp).filter(external_userid=ext).exists():
            raise Conflict(_("A customer with this external userid exists."),
                           field_errors={"external_userid": [_("Already used.")]})
        customer = Customer.objects.create(corp=corp, **fields)
        audit_record(corp=corp, actor=actor, action="customer.create", obj=customer,
                     changes=diff({}, fields))
        timeline_add(corp=corp, customer=customer, kind=TimelineEvent.Kind.CREATED, actor=actor,
                     summary=_("Customer created"))
        if owner is not None:
            follow_upsert(corp=corp, actor=actor, customer=customer, employee=owner)
    return customer


def customer_update(*, corp, actor, customer: Customer, data: dict) -> Customer:
    _check(actor, "customers.edit")
    fields = clean_customer_fields(data, partial=True)
    with transaction.atomic():
        locked = Customer.objects.for_corp(corp).select_for_update().get(pk=customer.pk)
        before = _snapshot(locked, fields)
        for name, value in fields.items():
            setattr(locked, name, value)
        changes = diff(before, fields)
        if not changes:
            return locked
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError:
            raise Conflict(_("Another customer already has this external userid."),
                           field_errors={"external_userid": [_("Already used.")]}) from None
        audit_record(corp=corp, actor=actor, action="customer.update", obj=locked,
                     changes=changes)
        timeline_add(corp=corp, customer=locked, kind=TimelineEvent.Kind.UPDATED, actor=actor,
                     summary=_("Profile updated: %(f)s") % {"f": ", ".join(sorted(changes))},
                     data={"changes": audit_changes(changes)})
    return locked


def audit_changes(changes: dict) -> dict:
    return {k: [str(v[0]) if v[0] is not None else None, str(v[1]) if v[1] is not None else None]
            for k, v in changes.items()}


def customer_tag(*, corp, actor, customer: Customer, tags) -> list:
    """Adds tags; returns the tags that were newly added (re-adding is a no-op)."""
    _check(actor, "customers.tag")
    tags = list(tags)
    if any(t.corp_id != corp.pk for t in tags):
        raise ValidationFailed(_("Unknown tag."), field_errors={"tag_ids": [_("Unknown tag.")]})
    with transaction.atomic():
        existing = set(
            CustomerTag.objects.for_corp(corp).filter(customer=customer)
            .values_list("tag_id", flat=True)
        )
        added = [t for t in tags if t.pk not in existing]
        CustomerTag.objects.bulk_create(
            [CustomerTag(corp=corp, customer=customer, tag=t,
                         added_by=actor if getattr(actor, "pk", None) else None) for t in added],
            ignore_conflicts=True,
        )
        for tag in added:
            audit_record(corp=corp, actor=actor, action="customer.tag", obj=customer,
                         changes={"tags": [None, tag.name]})
            timeline_add(corp=corp, customer=customer, kind=TimelineEvent.Kind.TAGGED,
                         actor=actor, summary=_("Tag added: %(t)s") % {"t": tag.name},
                         data={"tag_id": tag.pk, "tag": tag.name})
    return added


def customer_note_add(*, corp, actor, customer: Customer, text: str) -> TimelineEvent:
    """A follow-up note written by an employee; it lives in the customer's timeline."""
    _check(actor, "customers.edit")
    text = (text or "").strip()
    if not text or len(text) > 255:
        raise ValidationFailed(_("A note is 1–255 characters."),
                               field_errors={"text": [_("Write 1–255 characters.")]})
    with transaction.atomic():
        audit_record(corp=corp, actor=actor, action="customer.note", obj=customer,
                     changes={"note": [None, text]})
        return timeline_add(corp=corp, customer=customer, kind=TimelineEvent.Kind.NOTE,
                            actor=actor, summary=text)


def customer_untag(*, corp, actor, customer: Customer, tags) -> list:
    _check(actor, "customers.tag")
    tags = list(tags)
    with transaction.atomic():
        links = CustomerTag.objects.for_corp(corp).filter(customer=customer, tag__in=tags)
        removed_ids = set(links.values_list("tag_id", flat=True))
        links.delete()
        removed = [t for t in tags if t.pk in removed_ids]
        for tag in removed:
            audit_record(corp=corp, actor=actor, action="customer.untag", obj=customer,
                         changes={"tags": [tag.name, None]})
            timeline_add(corp=corp, customer=customer, kind=TimelineEvent.Kind.UNTAGGED,
                         actor=actor, summary=_("Tag removed: %(t)s") % {"t": tag.name},
                         data={"tag_id": tag.pk, "tag": tag.name})
    return removed


def follow_upsert(*, corp, actor, customer, employee, remark="", description="", add_way=0,
                  state="", added_at=None, remark_mobiles=None) -> FollowRelation:
    """Creates or revives the employee ↔ customer relationship."""
    with transaction.atomic():
        follow = (FollowRelation.objects.for_corp(corp).select_for_update()
                  .filter(customer=customer, employee=employee).first())
        values = {"remark": remark, "description": description, "add_way": add_way,
                  "state": state, "remark_mobiles": remark_mobiles or []}
        if follow is None:
            follow = FollowRelation.objects.create(
                corp=corp, customer=customer, employee=employee,
                added_at=added_at or timezone.now(), **values,
            )
        elif follow.deleted_at is not None:
            follow.deleted_at, follow.deleted_by = None, ""
            follow.added_at = added_at or timezone.now()
            for k, v in values.items():
                setattr(follow, k, v)
            follow.save()
        else:
            return follow
        audit_record(corp=corp, actor=actor, action="follow.add", obj=customer,
                     changes={"follow": [None, employee.name]})
        timeline_add(corp=corp, customer=customer, kind=TimelineEvent.Kind.FOLLOW_ADDED,
                     actor=actor, employee=employee, occurred_at=follow.added_at,
                     summary=_("Added employee %(e)s") % {"e": employee.name},
                     data={"state": state, "add_way": add_way})
    return follow


def follow_end(*, corp, actor, follow: FollowRelation, deleted_by: str,
               when=None) -> FollowRelation:
    if deleted_by not in FollowRelation.DeletedBy.values:
        raise ValidationFailed(_("deleted_by must be customer or employee."),
                               field_errors={"deleted_by": [_("Invalid choice.")]})
    with transaction.atomic():
        if follow.deleted_at is not None:
            return follow
        follow.deleted_at = when or timezone.now()
        follow.deleted_by = deleted_by
        follow.save(update_fields=["deleted_at", "deleted_by"])
        audit_record(corp=corp, actor=actor, action="follow.end", obj=follow.customer,
                     changes={"follow": [follow.employee.name, None], "deleted_by": [None,
                                                                                     deleted_by]})
        timeline_add(corp=corp, customer=follow.customer, kind=TimelineEvent.Kind.FOLLOW_DELETED,
                     actor=actor, employee=follow.employee, occurred_at=follow.deleted_at,
                     summary=follow.get_deleted_by_display(), data={"deleted_by": deleted_by})
    return follow


MERGE_FILL_FIELDS = ("unionid", "avatar", "email", "birthday", "region", "company")


def customer_merge(*, corp, actor, primary: Customer, duplicate: Customer) -> Customer:
    """Folds ``duplicate`` into ``primary``: identities, phones, tags, follows, timeline.

    The duplicate is kept, marked ``merged_into``, so links to it still resolve and the merge
    can be audited; it disappears from lists.
    """
    _check(actor, "customers.merge")
    if primary.pk == duplicate.pk:
        raise ValidationFailed(_("A customer cannot be merged into itself."),
                               field_errors={"duplicate_id": [_("Choose another customer.")]})
    if duplicate.merged_into_id or primary.merged_into_id:
        raise Conflict(_("One of these customers was already merged."),
                       field_errors={"duplicate_id": [_("Already merged.")]})
    with transaction.atomic():
        qs = Customer.objects.for_corp(corp).select_for_update()
        primary, duplicate = qs.get(pk=primary.pk), qs.get(pk=duplicate.pk)
        before = _snapshot(primary, (*MERGE_FILL_FIELDS, "phones", "custom_fields",
                                     "external_userid"))
        for field in MERGE_FILL_FIELDS:
            if not getattr(primary, field) and getattr(duplicate, field):
                setattr(primary, field, getattr(duplicate, field))
        primary.phones = list(dict.fromkeys([*primary.phones, *duplicate.phones]))
        primary.custom_fields = {**duplicate.custom_fields, **primary.custom_fields}
        dup_ext = duplicate.external_userid
        if dup_ext and not primary.external_userid:
            duplicate.external_userid = None
            duplicate.save(update_fields=["external_userid"])
            primary.external_userid = dup_ext
        primary.save()

        primary_tags = set(CustomerTag.objects.for_corp(corp).filter(customer=primary)
                           .values_list("tag_id", flat=True))
        dup_links = CustomerTag.objects.for_corp(corp).filter(customer=duplicate)
        dup_links.exclude(tag_id__in=primary_tags).update(customer=primary)
        dup_links.delete()

        primary_emps = set(FollowRelation.objects.for_corp(corp).filter(customer=primary)
                           .values_list("employee_id", flat=True))
        dup_follows = FollowRelation.objects.for_corp(corp).filter(customer=duplicate)
        dup_follows.exclude(employee_id__in=primary_emps).update(customer=primary)
        TimelineEvent.objects.for_corp(corp).filter(customer=duplicate).update(customer=primary)
        duplicate.merged_into = primary
        duplicate.save(update_fields=["merged_into"])

        changes = diff(before, _snapshot(primary, before))
        changes["merged_from"] = [None, duplicate.pk]
        audit_record(corp=corp, actor=actor, action="customer.merge", obj=primary,
                     changes=changes)
        audit_record(corp=corp, actor=actor, action="customer.merged_away", obj=duplicate,
                     changes={"merged_into": [None, primary.pk]})
        timeline_add(corp=corp, customer=primary, kind=TimelineEvent.Kind.MERGED, actor=actor,
                     summary=_("Merged duplicate “%(n)s” (#%(id)d)")
                     % {"n": duplicate.name, "id": duplicate.pk},
                     data={"duplicate_id": duplicate.pk, "duplicate_name": duplicate.name})
    return primary
