import pytest
from django.test import Client

from siyu.accounts.models import EmployeeDepartment
from siyu.accounts.services import api_token_create
from siyu.accounts.tests.factories import EmployeeFactory
from siyu.customers.tests.factories import FollowFactory

API = "/api/v1"
ROLES_SEE = {
    "admin": {"manager", "a", "b"},
    "manager": {"manager", "a"},
    "staff_a": {"a"},
    "staff_b": {"b"},
}


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def keys_of(world, items) -> set:
    by_id = {e.pk: key for key, e in world.employees.items()}
    return {by_id.get(item["id"], item["name"]) for item in items}


@pytest.mark.parametrize("role", list(ROLES_SEE))
def test_employee_list_is_scoped_per_role_and_corp(world, other_world, role):
    response = as_user(getattr(world, role)).get(f"{API}/employees")
    assert response.status_code == 200
    assert keys_of(world, response.json()["items"]) == ROLES_SEE[role]


@pytest.mark.parametrize("role", list(ROLES_SEE))
def test_employee_search_never_crosses_corp_or_scope(world, other_world, role):
    client = as_user(getattr(world, role))
    assert keys_of(world, client.get(f"{API}/employees", {"q": "x"}).json()["items"]) == (
        ROLES_SEE[role])
    assert client.get(f"{API}/employees", {"q": "y_"}).json()["items"] == []


@pytest.mark.parametrize("role", list(ROLES_SEE))
def test_employee_detail_is_404_outside_scope_and_corp(world, other_world, role):
    client = as_user(getattr(world, role))
    for key, employee in world.employees.items():
        response = client.get(f"{API}/employees/{employee.pk}")
        assert response.status_code == (200 if key in ROLES_SEE[role] else 404)
    for employee in other_world.employees.values():
        response = client.get(f"{API}/employees/{employee.pk}")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


def test_employee_detail_shape(world):
    body = as_user(world.admin).get(f"{API}/employees/{world.employees['a'].pk}").json()
    assert body["userid"] == "x_a" and body["name"] == "x销售甲"
    assert body["main_department"] == {"id": world.departments["east"].pk, "name": "华东区"}
    assert body["department_ids"] == [world.departments["east"].pk]
    assert body["customer_count"] == 2
    assert body["status"] == "active"


def test_employee_filters(world, other_world):
    client = as_user(world.admin)

    def keys(**params):
        response = client.get(f"{API}/employees", params)
        assert response.status_code == 200, response.content
        return keys_of(world, response.json()["items"])

    assert keys(department=world.departments["sales"].pk) == {"manager", "a"}
    assert keys(department=world.departments["service"].pk) == {"b"}
    assert keys(department=other_world.departments["sales"].pk) == set()
    resigned = world.employees["b"]
    resigned.status = "resigned"
    resigned.save()
    assert keys(status="resigned") == {"b"}
    assert keys(status="active") == {"manager", "a"}
    assert keys(q="销售甲") == {"a"}


def test_customer_count_is_not_multiplied_by_departments(world):
    # staff_a in two departments of the filtered subtree must still count 2 customers.
    EmployeeDepartment.objects.create(corp=world.corp, employee=world.employees["a"],
                                      department=world.departments["sales"])
    response = as_user(world.admin).get(f"{API}/employees",
                                        {"department": world.departments["root"].pk})
    row = next(e for e in response.json()["items"] if e["id"] == world.employees["a"].pk)
    assert row["customer_count"] == 2
    assert len(row["department_ids"]) == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=gone", "status"), ("department=abc", "department"), ("limit=500", "limit"),
     ("cursor=%%%", "cursor")],
)
def test_bad_employee_query_is_422(world, query, field):
    response = as_user(world.admin).get(f"{API}/employees?{query}")
    assert response.status_code == 422
    assert list(response.json()["fields"]) == [field]


def test_employee_cursor_walks_every_row_once(world, other_world):
    for _i in range(7):
        employee = EmployeeFactory(corp=world.corp, departments=[world.departments["east"]])
        FollowFactory(corp=world.corp, employee=employee, customer__corp=world.corp)
    client = as_user(world.manager)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/employees", params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 9  # manager, a, and the 7 new ones in east
    assert world.employees["b"].pk not in seen


@pytest.mark.parametrize(
    ("role", "expected"),
    [("admin", {"root", "sales", "east", "service"}), ("manager", {"sales", "east"}),
     ("staff_a", {"east"}), ("staff_b", {"service"})],
)
def test_departments_follow_the_scope_and_corp(world, other_world, role, expected):
    response = as_user(getattr(world, role)).get(f"{API}/departments")
    assert response.status_code == 200
    rows = response.json()
    assert {d["id"] for d in rows} == {world.departments[k].pk for k in expected}
    ids = {d["id"] for d in rows}
    assert all(d["parent_id"] is None or d["parent_id"] in ids for d in rows)


def test_department_rows(world, other_world):
    rows = as_user(world.admin).get(f"{API}/departments").json()
    position = {d["id"]: i for i, d in enumerate(rows)}
    assert all(position[d["parent_id"]] < position[d["id"]] for d in rows if d["parent_id"])
    by_name = {d["name"]: d for d in rows}
    assert by_name["华东区"]["parent_id"] == world.departments["sales"].pk
    assert by_name["总部"]["parent_id"] is None
    assert by_name["华东区"]["depth"] == 2
    assert (by_name["销售部"]["employee_count"], by_name["销售部"]["subtree_employee_count"]) == (
        1, 2)
    manager_rows = as_user(world.manager).get(f"{API}/departments").json()
    assert {d["name"]: d["parent_id"] for d in manager_rows}["销售部"] is None


def test_org_endpoints_need_credentials(world):
    for path in ("/employees", f"/employees/{world.employees['a'].pk}", "/departments"):
        response = Client().get(f"{API}{path}")
        assert response.status_code == 401
        assert response.json()["error"] == "unauthenticated"


def test_bearer_token_sees_its_users_scope(world, other_world):
    token = api_token_create(corp=world.corp, username=world.staff_b.username)
    response = Client().get(f"{API}/employees", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert keys_of(world, response.json()["items"]) == {"b"}
