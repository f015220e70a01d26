"""Console pages for the organisation: employees and departments, within the actor's scope."""

from django.views.decorators.http import require_GET

from siyu.accounts.forms import EmployeeFilterForm
from siyu.accounts.models import Employee
from siyu.accounts.selectors import department_tree_for, employees_for
from siyu.console.access import console_view, paginate, render_page


def _flatten(nodes, depth=0):
    for node in nodes:
        yield node, depth
        yield from _flatten(node.children, depth + 1)


@require_GET
@console_view("org.view")
def employees_view(request):
    user = request.user
    departments = [(node.department.pk, "\u2003" * depth + node.department.name)
                   for node, depth in _flatten(department_tree_for(user))]
    form = EmployeeFilterForm(request.GET or None, departments=departments,
                              statuses=Employee.Status.choices)
    # Invalid fields show their error; the valid ones still filter.
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    filters = {"q": (cleaned.get("q") or "").strip(), "department_id": cleaned.get("department"),
               "status": cleaned.get("status") or ""}
    page = paginate(request, employees_for(user, **filters).order_by("status", "name", "id"))
    return render_page(request, "accounts/employees.html",
                       {"form": form, "page_obj": page, "filtered": any(filters.values())},
                       partial="accounts/_employee_results.html")


@require_GET
@console_view("org.view")
def departments_view(request):
    tree = department_tree_for(request.user)
    return render_page(request, "accounts/departments.html",
                       {"tree": tree, "department_count": sum(1 for _ in _flatten(tree))})
