import csv
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from siyu.core.errors import PermissionDenied, ValidationFailed
from siyu.customers.export import export_customers
from siyu.customers.selectors import CustomerFilters
from siyu.customers.tests.factories import CustomerFactory, CustomerTagFactory, FollowFactory

URL = "/api/v1/customers/export"


def as_user(user) -> Client:
    # English column names whatever catalog is installed; the default language is zh-hans.
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def csv_rows(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte-order mark"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def exported_names(response) -> set[str]:
    _header, *rows = csv_rows(response)
    return {row[1] for row in rows}


def test_staff_cannot_export(world):
    response = as_user(world.staff_a).get(URL)
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert response["Content-Type"].startswith("application/json")


def test_manager_exports_only_their_scope(world, other_world):
    response = as_user(world.manager).get(URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="customers-' in response["Content-Disposition"]
    assert exported_names(response) == {"x客户A1", "x客户A2", "x客户M1"}


def test_admin_exports_own_corp_only(world, other_world):
    assert exported_names(as_user(world.admin).get(URL)) == {
        "x客户A1", "x客户A2", "x客户B1", "x客户M1"}


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_export_search_never_crosses_corp_or_scope(world, other_world, role):
    client = as_user(getattr(world, role))
    assert exported_names(client.get(URL, {"q": "y客户"})) == set()
    assert exported_names(client.get(URL, {"q": "备注yA1"})) == set()
    found = exported_names(client.get(URL, {"q": "备注xB1"}))
    assert found == ({"x客户B1"} if role == "admin" else set())


def test_export_applies_list_filters(world):
    CustomerTagFactory(corp=world.corp, customer=world.customers["A2"], tag=world.tags["vip"])
    client = as_user(world.admin)
    assert exported_names(client.get(URL, {"tag": world.tags["vip"].pk})) == {"x客户A2"}
    assert exported_names(client.get(URL, {"state": "channel_b"})) == {"x客户B1"}


def test_csv_row_content(world):
    customer = world.customers["A1"]
    customer.custom_fields = {"来源": "展会"}
    customer.save()
    CustomerTagFactory(corp=world.corp, customer=customer, tag=world.tags["vip"])
    header, *rows = csv_rows(as_user(world.admin).get(URL))
    row = dict(zip(header, next(r for r in rows if r[0] == str(customer.pk)), strict=True))
    assert row["Name"] == "x客户A1"
    assert row["Phones"] == customer.phones[0]
    assert row["Employees"] == "x销售甲"
    assert row["Remarks"] == "备注xA1"
    assert row["Tags"] == "客户等级/VIP"
    assert row["Custom fields"] == '{"来源": "展会"}'


def test_cells_that_excel_would_run_as_formulas_are_quoted(world):
    evil = CustomerFactory(corp=world.corp, name='=HYPERLINK("http://x","y")',
                           company="@SUM(1)")
    FollowFactory(corp=world.corp, customer=evil, employee=world.employees["a"])
    header, *rows = csv_rows(as_user(world.admin).get(URL))
    row = next(r for r in rows if r[0] == str(evil.pk))
    assert row[1] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert row[header.index("Company")] == "'@SUM(1)"


def test_xlsx_export(world, other_world):
    CustomerFactory(corp=world.corp, name="控制\x01字符")  # openpyxl refuses control chars
    response = as_user(world.admin).get(URL, {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[:2] == ("ID", "Name")
    assert {row[1] for row in rows} == {"x客户A1", "x客户A2", "x客户B1", "x客户M1", "控制字符"}


def test_xlsx_is_scoped_for_manager(world, other_world):
    response = as_user(world.manager).get(URL, {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert {row[1] for row in list(sheet.iter_rows(values_only=True))[1:]} == {
        "x客户A1", "x客户A2", "x客户M1"}


def test_unknown_format_is_422(world):
    response = as_user(world.admin).get(URL, {"format": "pdf"})
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["format"]


def test_export_needs_credentials(world):
    assert Client().get(URL).status_code == 401


def test_export_function_checks_permission_before_returning(world):
    # The console streams the result: a refusal must come before the first byte.
    with pytest.raises(PermissionDenied):
        export_customers(world.staff_a, CustomerFilters(), "csv")
    with pytest.raises(ValidationFailed):
        export_customers(world.admin, CustomerFilters(), "pdf")
    content, content_type, filename = export_customers(world.manager, CustomerFilters(), "csv")
    assert content_type.startswith("text/csv") and filename.endswith(".csv")
    text = b"".join(content).decode("utf-8-sig")
    assert "x客户M1" in text and "x客户B1" not in text
