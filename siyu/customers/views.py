"""Console pages for customers (G3): list, detail, create, edit, and the htmx endpoints for
tags, notes and merging. Views parse input, call a selector or service, and render."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from siyu.accounts.selectors import employees_for
from siyu.console.access import console_view, render_page
from siyu.core.errors import DomainError
from siyu.customers import services
from siyu.customers.forms import CustomerFilterForm, CustomerForm, NoteForm
from siyu.customers.models import TimelineEvent
from siyu.customers.selectors import (
    customer_follows,
    customer_get_for,
    customer_list,
    customer_tags,
    customer_timeline,
    duplicate_candidates,
    with_list_details,
)
from siyu.tags.selectors import tag_get_for, tag_groups_for, tags_for

EXPORT_URL = "/api/v1/customers/export"
# Query parameters that shape the page, not the result set, so exports leave them out.
PAGING_PARAMS = ("page", "per_page")

ADD_WAY_LABELS = {
    0: gettext_lazy("Unknown"), 1: gettext_lazy("Scanned a QR code"),
    2: gettext_lazy("Searched a phone number"), 3: gettext_lazy("Shared business card"),
    4: gettext_lazy("From a group chat"), 5: gettext_lazy("Phone contacts"),
    6: gettext_lazy("WeChat contacts"), 8: gettext_lazy("Added automatically"),
    9: gettext_lazy("Searched an email"), 10: gettext_lazy("WeChat Channels"),
    201: gettext_lazy("Shared by a colleague"), 202: gettext_lazy("Assigned by an admin"),
}
# Icon ids of the console's sprite (console/_icons.html).
TIMELINE_ICONS = {
    TimelineEvent.Kind.CREATED: "plus", TimelineEvent.Kind.UPDATED: "edit",
    TimelineEvent.Kind.TAGGED: "tag", TimelineEvent.Kind.UNTAGGED: "trash",
    TimelineEvent.Kind.MERGED: "users", TimelineEvent.Kind.FOLLOW_ADDED: "user",
    TimelineEvent.Kind.FOLLOW_DELETED: "lock", TimelineEvent.Kind.NOTE: "clock",
}


@dataclass
class CustomerRow:
    customer: object
    owners: list
    states: list
    added_at: object


def _row(customer) -> CustomerRow:
    follows = customer.active_follows
    return CustomerRow(
        customer=customer,
        owners=[f.employee for f in follows],
        states=sorted({f.state for f in follows if f.state}),
        added_at=min((f.added_at for f in follows), default=customer.created_at),
    )


def _can(actor, *names) -> dict:
    return {name: actor.has_siyu_perm(f"customers.{name}") for name in names}


@console_view("customers.view")
def customer_list_view(request):
    actor = request.user
    form = CustomerFilterForm(
        request.GET,
        tags=tags_for(actor) if actor.has_siyu_perm("tags.view") else [],
        employees=employees_for(actor) if actor.has_siyu_perm("org.view") else [],
    )
    form.is_valid()
    queryset = with_list_details(customer_list(actor, form.filters()), actor)
    paginator = Paginator(queryset, form.page_size())
    page = paginator.get_page(request.GET.get("page"))
    # console/_pagination.html reads the elided range from the page.
    page.elided_range = list(paginator.get_elided_page_range(page.number, on_each_side=2,
                                                             on_ends=1))
    # Empty filter fields (every form submit sends them) would be invalid values to the API.
    export_params = QueryDict(mutable=True)
    for name, values in request.GET.lists():
        if name not in PAGING_PARAMS:
            export_params.setlist(name, [v for v in values if v])
    context = {
        "form": form,
        "page_obj": page,
        "rows": [_row(c) for c in page.object_list],
        "export_url": f"{EXPORT_URL}?format=csv&{export_params.urlencode()}".rstrip("&"),
        "can": _can(actor, "create", "export"),
    }
    return render_page(request, "customers/list.html", context,
                       partial="customers/_table.html")


def _tag_context(actor, customer, error=""):
    tags = customer_tags(actor, customer)
    current = {t.pk for t in tags}
    groups = []
    if actor.has_siyu_perm("tags.view"):
        for group in tag_groups_for(actor):
            options = [t for t in group.tags.all() if t.pk not in current]
            if options:
                groups.append((group, options))
    return {"customer": customer, "tags": tags, "tag_groups": groups, "tag_error": error,
            "can": _can(actor, "tag", "edit", "merge")}


def _timeline_context(actor, customer, note_form=None):
    events = list(customer_timeline(actor, customer))
    for event in events:
        event.icon = TIMELINE_ICONS.get(event.kind, "clock")
    return {"customer": customer, "timeline": events, "note_form": note_form or NoteForm(),
            "can": _can(actor, "tag", "edit", "merge")}


def _detail_context(actor, customer, tag_error="") -> dict:
    follows = list(customer_follows(actor, customer))
    for follow in follows:
        follow.add_way_label = ADD_WAY_LABELS.get(follow.add_way, follow.add_way)
    return {
        **_tag_context(actor, customer, tag_error),
        **_timeline_context(actor, customer),
        "follows": follows,
        "custom_fields": sorted(customer.custom_fields.items()),
        "duplicates": list(duplicate_candidates(actor, customer)),
    }


@console_view("customers.view")
def customer_detail_view(request, pk):
    customer = customer_get_for(request.user, pk)
    return render(request, "customers/detail.html", _detail_context(request.user, customer))


def _blocks_response(request, customer, *, tag_error="", note_form=None, status=200):
    """Both the tags block and the timeline, swapped out-of-band (the forms post with
    hx-swap="none"), so a change shows its new timeline entry without a reload. The console
    lets htmx swap 422 responses, so errors come back in the same blocks."""
    actor = request.user
    context = {**_tag_context(actor, customer, tag_error),
               **_timeline_context(actor, customer, note_form), "oob": True}
    return render(request, "customers/_blocks.html", context, status=status)


def _done(request, customer, message):
    messages.success(request, message)
    if request.htmx:
        return _blocks_response(request, customer)
    return redirect("customers:detail", pk=customer.pk)


@require_POST
@console_view("customers.tag")
def customer_tag_add_view(request, pk):
    actor = request.user
    customer = customer_get_for(actor, pk, "customers.tag")
    tags = [tag_get_for(actor, tag_id) for tag_id in request.POST.getlist("tag_id")]
    if not tags:
        return _blocked(request, customer, _("Choose a tag to add."))
    try:
        services.customer_tag(corp=actor.corp, actor=actor, customer=customer, tags=tags)
    except DomainError as exc:
        return _blocked(request, customer, exc.message)
    return _done(request, customer, _("Tag added."))


@require_POST
@console_view("customers.tag")
def customer_tag_remove_view(request, pk, tag_pk):
    actor = request.user
    customer = customer_get_for(actor, pk, "customers.tag")
    tag = tag_get_for(actor, tag_pk)
    services.customer_untag(corp=actor.corp, actor=actor, customer=customer, tags=[tag])
    return _done(request, customer, _("Tag removed."))


def _blocked(request, customer, message):
    if request.htmx:
        return _blocks_response(request, customer, tag_error=message, status=422)
    return render(request, "customers/detail.html",
                  _detail_context(request.user, customer, message), status=422)


@require_POST
@console_view("customers.edit")
def customer_note_add_view(request, pk):
    actor = request.user
    customer = customer_get_for(actor, pk, "customers.edit")
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.customer_note_add(corp=actor.corp, actor=actor, customer=customer,
                                       text=form.cleaned_data["text"])
        except DomainError as exc:
            form.add_service_errors(exc)
        else:
            return _done(request, customer, _("Note added."))
    if request.htmx:
        return _blocks_response(request, customer, note_form=form, status=422)
    context = {**_detail_context(actor, customer), "note_form": form}
    return render(request, "customers/detail.html", context, status=422)


@require_POST
@console_view("customers.merge")
def customer_merge_view(request, pk):
    actor = request.user
    primary = customer_get_for(actor, pk, "customers.merge")
    duplicate = customer_get_for(actor, request.POST.get("duplicate_id"), "customers.merge")
    try:
        services.customer_merge(corp=actor.corp, actor=actor, primary=primary,
                                duplicate=duplicate)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("“%(name)s” was merged into this customer.")
                         % {"name": duplicate.name})
    url = reverse("customers:detail", kwargs={"pk": primary.pk})
    # The merge button asks for confirmation through htmx; the page then reloads as a whole.
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@console_view("customers.create")
def customer_create_view(request):
    actor = request.user
    form = CustomerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(corp=actor.corp, actor=actor,
                                                data=form.service_data(only_changed=False))
        except DomainError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Customer created."))
            return redirect("customers:detail", pk=customer.pk)
    status = 422 if form.is_bound else 200
    return render(request, "customers/form.html", {"form": form, "customer": None},
                  status=status)


@console_view("customers.edit")
def customer_edit_view(request, pk):
    actor = request.user
    customer = customer_get_for(actor, pk, "customers.edit")
    form = CustomerForm.for_customer(customer,
                                     request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(corp=actor.corp, actor=actor, customer=customer,
                                     data=form.service_data(only_changed=True))
        except DomainError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Profile saved."))
            return redirect("customers:detail", pk=customer.pk)
    status = 422 if form.is_bound else 200
    return render(request, "customers/form.html", {"form": form, "customer": customer},
                  status=status)
