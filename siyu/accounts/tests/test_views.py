"""Employees and departments pages: per role, never across corps or outside the data scope."""

import pytest
from django.urls import reverse

from siyu.accounts.models import Employee
from siyu.accounts.tests.factories import EmployeeFactory
from siyu.customers.tests.factories import FollowFactory

EMPLOYEES = reverse("accounts:employees")
DEPARTMENTS = reverse("accounts:departments")


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English source strings; zh-hans, the default, gets a catalog later.
    settings.LANGUAGE_CODE = "en"


def listed(response) -> list[str]:
    return sorted(e.name for e in response.context["page_obj"])


def tree_names(nodes) -> list[str]:
    out = []
    for node in nodes:
        out.append(node.department.name)
        out.extend(tree_names(node.children))
    return out


@pytest.mark.parametrize(("role", "expected"), [
    ("admin", ["x客服乙", "x经理", "x销售甲"]),
    ("manager", ["x经理", "x销售甲"]),
    ("staff_a", ["x销售甲"]),
    ("staff_b", ["x客服乙"]),
])
def test_employee_list_follows_the_scope(client, world, other_world, role, expected):
    client.force_login(getattr(world, role))
    response = client.get(EMPLOYEES)
    assert response.status_code == 200
    assert listed(response) == expected
    html = response.content.decode()
    assert "y经理" not in html and "y销售甲" not in html and "y客服乙" not in html


def test_search_never_crosses_corp_or_scope(client, world, other_world):
    client.force_login(world.staff_a)
    assert listed(client.get(EMPLOYEES, {"q": "经理"})) == []
    assert listed(client.get(EMPLOYEES, {"q": "y_"})) == []
    client.force_login(world.admin)
    assert listed(client.get(EMPLOYEES, {"q": "_mgr"})) == ["x经理"]


def test_customer_count_per_employee(client, world):
    FollowFactory(corp=world.corp, employee=world.employees["b"],
                  customer=world.customers["A1"])
    client.force_login(world.admin)
    counts = {e.name: e.customer_count for e in client.get(EMPLOYEES).context["page_obj"]}
    assert counts == {"x销售甲": 2, "x客服乙": 2, "x经理": 1}


def test_department_filter_covers_the_subtree(client, world):
    client.force_login(world.admin)
    sales = world.departments["sales"].pk
    assert listed(client.get(EMPLOYEES, {"department": sales})) == ["x经理", "x销售甲"]


def test_department_filter_offers_only_visible_departments(client, world, other_world):
    client.force_login(world.manager)
    response = client.get(EMPLOYEES)
    choices = [label.strip("\u2003") for _v, label in
               response.context["form"].fields["department"].choices][1:]
    assert choices == ["销售部", "华东区"]
    # Another corp's department id is rejected as a choice, not queried.
    response = client.get(EMPLOYEES, {"department": other_world.departments["sales"].pk})
    assert "Choose a department from the list." in response.content.decode()
    assert listed(response) == ["x经理", "x销售甲"]


def test_status_filter(client, world):
    Employee.objects.for_corp(world.corp).filter(pk=world.employees["b"].pk).update(
        status=Employee.Status.RESIGNED)
    client.force_login(world.admin)
    assert listed(client.get(EMPLOYEES, {"status": "resigned"})) == ["x客服乙"]
    assert listed(client.get(EMPLOYEES, {"status": "active"})) == ["x经理", "x销售甲"]
    html = client.get(EMPLOYEES).content.decode()
    assert "Resigned" in html


def test_pagination_with_htmx_returns_the_partial(client, world):
    for i in range(25):
        EmployeeFactory(corp=world.corp, name=f"员工{i:02d}",
                        departments=[world.departments["root"]])
    client.force_login(world.admin)
    first = client.get(EMPLOYEES)
    assert len(first.context["page_obj"]) == 20
    assert 'hx-target="#employee-results"' in first.content.decode()
    partial = client.get(EMPLOYEES, {"page": 2}, HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert partial.status_code == 200
    assert "<table" in html and "<html" not in html and 'class="filter-bar"' not in html
    assert len(partial.context["page_obj"]) == 8


def test_anonymous_is_redirected_to_login(client, db):
    for url in (EMPLOYEES, DEPARTMENTS):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize(("role", "expected"), [
    ("admin", ["总部", "销售部", "华东区", "客服部"]),
    ("manager", ["销售部", "华东区"]),
    ("staff_a", ["华东区"]),
    ("staff_b", ["客服部"]),
])
def test_department_tree_follows_the_scope(client, world, other_world, role, expected):
    client.force_login(getattr(world, role))
    response = client.get(DEPARTMENTS)
    assert response.status_code == 200
    assert tree_names(response.context["tree"]) == expected


def test_department_tree_counts(client, world):
    client.force_login(world.admin)
    [root] = client.get(DEPARTMENTS).context["tree"]
    assert (root.direct_count, root.total_count) == (0, 3)
    sales, service = root.children
    assert (sales.department.name, sales.direct_count, sales.total_count) == ("销售部", 1, 2)
    assert (service.direct_count, service.total_count) == (1, 1)
    client.force_login(world.manager)
    [sales] = client.get(DEPARTMENTS).context["tree"]
    assert sales.total_count == 2


def test_department_tree_counts_only_active_employees(client, world):
    Employee.objects.for_corp(world.corp).filter(pk=world.employees["a"].pk).update(
        status=Employee.Status.RESIGNED)
    client.force_login(world.admin)
    [root] = client.get(DEPARTMENTS).context["tree"]
    assert root.total_count == 2


def test_department_page_links_to_filtered_employees(client, world, other_world):
    client.force_login(world.admin)
    html = client.get(DEPARTMENTS).content.decode()
    assert f'{EMPLOYEES}?department={world.departments["east"].pk}' in html
    other_ids = {d.pk for d in other_world.departments.values()}
    assert not any(f"?department={pk}\"" in html for pk in other_ids)


def flat(nodes):
    for node in nodes:
        yield node
        yield from flat(node.children)


@pytest.mark.parametrize("role", ["admin", "manager", "staff_a", "staff_b"])
def test_department_tree_never_shows_another_corp(client, world, other_world, role):
    # Both corps name their departments alike, so compare rows, not names.
    client.force_login(getattr(world, role))
    nodes = list(flat(client.get(DEPARTMENTS).context["tree"]))
    assert nodes and {n.department.corp_id for n in nodes} == {world.corp.pk}
