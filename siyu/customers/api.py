"""REST endpoints for customers: /api/v1/customers…

Handlers parse input, call a selector or service, and shape the output; scoping and rules live
in ``selectors`` and ``services``.
"""

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from siyu.accounts.selectors import employee_get_for
from siyu.core.api_support import READ_ERRORS, WRITE_ERRORS, ObjectId, cursor_page
from siyu.core.errors import NotFound, ValidationFailed
from siyu.customers.export import CSV_TYPE, XLSX_TYPE, export_customers
from siyu.customers.schemas import (
    CustomerCreateIn,
    CustomerExportQuery,
    CustomerListQuery,
    CustomerOut,
    CustomerPage,
    CustomerPatchIn,
    CustomerQuery,
    MergeIn,
    TagIdsIn,
    TimelineOut,
    TimelineQuery,
)
from siyu.customers.selectors import (
    CustomerFilters,
    customer_follows,
    customer_get_for,
    customer_list,
    customer_tags,
    customer_timeline,
    with_list_details,
)
from siyu.customers.services import (
    customer_create,
    customer_merge,
    customer_tag,
    customer_untag,
    customer_update,
)
from siyu.tags.selectors import tag_get_for, tags_for

router = Router(tags=["customers"])


def _filters(query: CustomerQuery) -> CustomerFilters:
    if query.added_from and query.added_to and query.added_from > query.added_to:
        raise ValidationFailed(
            _("The date range is empty."),
            field_errors={"added_to": [_("Must be on or after added_from.")]},
        )
    return CustomerFilters(
        q=query.q, tag_ids=tuple(query.tag), owner_id=query.owner, state=query.state,
        added_from=query.added_from, added_to=query.added_to, include_lost=query.include_lost,
    )


def _tag_out(tag) -> dict:
    return {"id": tag.pk, "name": tag.name, "group_id": tag.group_id, "group": tag.group.name}


def _follow_out(follow) -> dict:
    return {
        "employee_id": follow.employee_id, "employee_name": follow.employee.name,
        "remark": follow.remark, "description": follow.description, "state": follow.state,
        "add_way": follow.add_way, "added_at": follow.added_at,
        "deleted_at": follow.deleted_at, "deleted_by": follow.deleted_by,
    }


def _customer_out(customer, *, tags, follows) -> dict:
    fields = ("id", "external_userid", "unionid", "name", "avatar", "type", "gender", "phones",
              "email", "birthday", "region", "company", "custom_fields", "created_at",
              "updated_at")
    out = {name: getattr(customer, name) for name in fields}
    out["tags"] = [_tag_out(tag) for tag in tags]
    out["follows"] = [_follow_out(follow) for follow in follows]
    return out


def _list_row(customer) -> dict:
    """A row from ``with_list_details``: its active follows and tags, already prefetched."""
    tags = sorted((link.tag for link in customer.tag_list),
                  key=lambda tag: (tag.group.order, tag.group_id, tag.order, tag.pk))
    return _customer_out(customer, tags=tags, follows=customer.active_follows)


def _detail(actor, customer) -> dict:
    """The full record: every tag and follow relation, ended ones included."""
    return _customer_out(customer, tags=customer_tags(actor, customer),
                         follows=customer_follows(actor, customer))


@router.get("/customers", response={200: CustomerPage, **READ_ERRORS})
def list_customers(request, query: Query[CustomerListQuery]):
    """Customers you can see, newest first; follow ``next_cursor`` for the next page."""
    actor = request.user
    customers = with_list_details(customer_list(actor, _filters(query)), actor)
    rows, next_cursor = cursor_page(customers, cursor=query.cursor, limit=query.limit)
    return {"items": [_list_row(c) for c in rows], "next_cursor": next_cursor}


@router.post("/customers", response={201: CustomerOut, **WRITE_ERRORS})
def create_customer(request, payload: CustomerCreateIn):
    """Creates a customer followed by ``owner_id`` (an employee you can see) or by you."""
    actor = request.user
    data = payload.model_dump(exclude_unset=True)
    owner_id = data.pop("owner_id", None)
    owner = None
    if owner_id is not None:
        try:
            owner = employee_get_for(actor, owner_id)
        except NotFound:
            raise ValidationFailed(
                _("The owner is not an employee you can see; nothing was saved."),
                field_errors={"owner_id": [_("No employee with this id that you can see.")]},
            ) from None
    customer = customer_create(corp=actor.corp, actor=actor, data=data, owner=owner)
    return Status(201, _detail(actor, customer))


@router.get(
    "/customers/export",
    response=READ_ERRORS,
    openapi_extra={"responses": {200: {
        "description": "The file, as an attachment.",
        "content": {CSV_TYPE: {"schema": {"type": "string"}},
                    XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }}},
)
def export(request, query: Query[CustomerExportQuery]):
    """Downloads the customers the list would show, as CSV (UTF-8 with BOM) or xlsx.

    Needs the ``customers.export`` permission; the rows are limited to your data scope.
    """
    content, content_type, filename = export_customers(request.user, _filters(query),
                                                       query.format)
    if isinstance(content, bytes):
        response = HttpResponse(content, content_type=content_type)
    else:
        response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get("/customers/{customer_id}", response={200: CustomerOut, **READ_ERRORS})
def get_customer(request, customer_id: ObjectId):
    actor = request.user
    return _detail(actor, customer_get_for(actor, customer_id))


@router.patch("/customers/{customer_id}", response={200: CustomerOut, **WRITE_ERRORS})
def update_customer(request, customer_id: ObjectId, payload: CustomerPatchIn):
    """Changes only the fields sent; if any field is invalid, nothing changes."""
    actor = request.user
    customer = customer_get_for(actor, customer_id)
    customer = customer_update(corp=actor.corp, actor=actor, customer=customer,
                               data=payload.model_dump(exclude_unset=True))
    return _detail(actor, customer)


@router.post("/customers/{customer_id}/tags", response={200: CustomerOut, **WRITE_ERRORS})
def tag_customer(request, customer_id: ObjectId, payload: TagIdsIn):
    """Adds tags (re-adding one is harmless). Any unknown tag id → 422, nothing is added."""
    actor = request.user
    customer = customer_get_for(actor, customer_id)
    wanted = set(payload.tag_ids)
    tags = list(tags_for(actor).filter(pk__in=wanted))
    unknown = sorted(wanted - {tag.pk for tag in tags})
    if unknown:
        raise ValidationFailed(
            _("Some tags do not exist in your enterprise; nothing was tagged."),
            field_errors={"tag_ids": [_("Unknown tag ids: %(ids)s.")
                                      % {"ids": ", ".join(map(str, unknown))}]},
        )
    customer_tag(corp=actor.corp, actor=actor, customer=customer, tags=tags)
    return _detail(actor, customer)


@router.delete("/customers/{customer_id}/tags/{tag_id}",
               response={200: CustomerOut, **WRITE_ERRORS})
def untag_customer(request, customer_id: ObjectId, tag_id: ObjectId):
    """Removes one tag from the customer (removing a tag it lacks is harmless)."""
    actor = request.user
    customer = customer_get_for(actor, customer_id)
    tag = tag_get_for(actor, tag_id)
    customer_untag(corp=actor.corp, actor=actor, customer=customer, tags=[tag])
    return _detail(actor, customer)


@router.post("/customers/{customer_id}/merge", response={200: CustomerOut, **WRITE_ERRORS})
def merge_customer(request, customer_id: ObjectId, payload: MergeIn):
    """Folds the duplicate into this customer (permission ``customers.merge``)."""
    actor = request.user
    primary = customer_get_for(actor, customer_id, "customers.merge")
    try:
        duplicate = customer_get_for(actor, payload.duplicate_id, "customers.merge")
    except NotFound:
        raise ValidationFailed(
            _("The duplicate is not a customer you can see; nothing was merged."),
            field_errors={"duplicate_id": [_("No customer with this id that you can see.")]},
        ) from None
    primary = customer_merge(corp=actor.corp, actor=actor, primary=primary, duplicate=duplicate)
    return _detail(actor, primary)


@router.get("/customers/{customer_id}/timeline", response={200: TimelineOut, **READ_ERRORS})
def customer_timeline_list(request, customer_id: ObjectId, query: Query[TimelineQuery]):
    """The customer's most recent events, newest first (``limit``, at most 200)."""
    actor = request.user
    customer = customer_get_for(actor, customer_id)
    events = customer_timeline(actor, customer, limit=query.limit)
    return {"items": [
        {"id": e.pk, "kind": e.kind, "occurred_at": e.occurred_at, "summary": e.display_summary,
         "actor": e.actor.get_username() if e.actor else None, "employee_id": e.employee_id,
         "employee_name": e.employee.name if e.employee else None, "data": e.data}
        for e in events
    ]}
