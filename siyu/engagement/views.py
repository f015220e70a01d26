"""Console page for default welcome messages (C1): one per employee or department, edited
with a live preview; the latest deliveries show what was sent, and why one was not."""

from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from siyu.accounts.scoping import visible_employee_ids
from siyu.accounts.selectors import department_tree_for, employee_get_for, employees_for
from siyu.console.access import console_view, paginate, render_page
from siyu.core.errors import NotFound, ValidationFailed
from siyu.engagement.models import DISPLAY_LABELS, UNKNOWN
from siyu.engagement.preview import welcome_preview
from siyu.engagement.selectors import DELIVERY_FILTERS, deliveries_for, templates_for
from siyu.engagement.services import welcome_template_save
from siyu.engagement.welcome_editor import WelcomeFormInvalid, welcome_from_post


def _departments(actor) -> list:
    """The departments the actor's role covers (a manager: theirs and below), tree order."""
    found, stack = [], list(reversed(department_tree_for(actor)))
    while stack:
        node = stack.pop()
        found.append(node.department)
        stack.extend(reversed(node.children))
    return found


def _scope(actor, value: str) -> dict:
    """"employee:12" / "department:3" → the object the actor may see, or NotFound."""
    kind, _sep, pk = (value or "").partition(":")
    if kind == "employee":
        return {"employee": employee_get_for(actor, pk)}
    if kind == "department" and pk.isdigit():
        department = next((d for d in _departments(actor) if d.pk == int(pk)), None)
        if department is not None:
            return {"department": department}
    raise NotFound(f"No employee or department {value!r} that you can see.")


def _posted(request) -> tuple[dict, dict]:
    """(values as typed, field errors of the welcome editor's fields)."""
    values = {"scope": request.POST.get("scope", ""),
              "enabled": request.POST.get("enabled") == "on"}
    try:
        values["text"], values["attachments"] = welcome_from_post(request.POST)
    except WelcomeFormInvalid as invalid:
        values["text"], values["attachments"] = invalid.text, invalid.attachments
        return values, invalid.field_errors
    return values, {}


# Badge colour per display status; "unknown" stands out from a plain failure.
STATUS_TONES = {"sent": "success", "failed": "danger", "skipped": "muted", UNKNOWN: "warning",
                "sending": "info"}


def _deliveries(request) -> dict:
    """The recent deliveries of the employees the actor may see, filtered and paged."""
    status = request.GET.get("status", "")
    status = status if status in DELIVERY_FILTERS else ""
    deliveries = deliveries_for(request.user.corp, status=status,
                                employee_ids=visible_employee_ids(request.user))
    page = paginate(request, deliveries)
    for delivery in page:
        delivery.tone = STATUS_TONES.get(delivery.display_status, "muted")
    return {"page_obj": page, "delivery_status": status,
            "delivery_filters": [(code, DISPLAY_LABELS[code]) for code in DELIVERY_FILTERS]}


def _context(request, values: dict | None = None, errors: dict | None = None) -> dict:
    actor = request.user
    employee_ids = set(employees_for(actor).values_list("pk", flat=True))
    departments = _departments(actor)
    department_ids = {d.pk for d in departments}
    templates = [t for t in templates_for(actor.corp)
                 if t.employee_id in employee_ids or t.department_id in department_ids]
    scope_options = [
        (_("Employees"), [(f"employee:{e.pk}", f"{e.name} ({e.userid})")
                          for e in employees_for(actor)]),
        (_("Departments"), [(f"department:{d.pk}", d.name) for d in departments]),
    ]
    return {"templates": templates, "scope_options": scope_options, **_deliveries(request),
            "values": values or {"scope": "", "text": "", "attachments": [], "enabled": True},
            "errors": errors or {}}


@console_view("engagement.manage")
@require_http_methods(["GET"])
def welcome_view(request):
    values = None
    if scope := request.GET.get("edit"):
        found = _scope(request.user, scope)
        template = templates_for(request.user.corp).filter(**found).first()
        values = {"scope": scope, "text": template.text if template else "",
                  "attachments": list(template.attachments) if template else [],
                  "enabled": template.enabled if template else True}
    if request.htmx and request.htmx.target == "welcome-deliveries":
        return render_page(request, "engagement/_deliveries.html", _deliveries(request),
                           partial="engagement/_deliveries.html")
    return render_page(request, "engagement/welcome.html", _context(request, values))


@console_view("engagement.manage")
@require_POST
def welcome_save_view(request):
    values, errors = _posted(request)
    scope = _scope(request.user, values["scope"])
    if not errors:
        try:
            welcome_template_save(corp=request.user.corp, actor=request.user,
                                  text=values["text"], attachments=values["attachments"],
                                  enabled=values["enabled"], **scope)
        except ValidationFailed as exc:
            errors = exc.field_errors
    if errors:
        return render_page(request, "engagement/welcome.html",
                           _context(request, values, errors), status=422)
    return redirect("engagement:welcome")


@console_view("engagement.manage")
@require_POST
def welcome_preview_view(request):
    values, errors = _posted(request)
    context = {"errors": [m for messages in errors.values() for m in messages]}
    if not errors:
        context.update(welcome_preview(values["text"], values["attachments"]))
    return render_page(request, "engagement/_preview.html", context,
                       partial="engagement/_preview.html")
