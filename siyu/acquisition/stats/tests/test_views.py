"""Console pages and downloads of live code statistics: numbers per role, the htmx date
filter, CSV (UTF-8 with BOM) and xlsx contents, 404 across enterprises and outside scope."""

import csv
import datetime
import io

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from siyu.acquisition.live_codes.assignment import CHINA
from siyu.acquisition.stats.tests.factories import add, live_code

HTMX = {"HTTP_HX_REQUEST": "true"}
NOW = datetime.datetime(2025, 3, 31, 12, 0, tzinfo=CHINA)


def at(day, hour=10):
    return datetime.datetime(2025, 3, day, hour, tzinfo=CHINA)


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def code(world):
    emp = world.employees
    shared = live_code(world, "直播间活码", [emp["a"], emp["b"], emp["manager"]])
    for _ in range(3):
        add(shared, emp["a"], at(20))
    add(shared, emp["a"], at(21), deleted_at=at(22), deleted_by="customer")
    for _ in range(2):
        add(shared, emp["b"], at(25))
    add(shared, emp["manager"], at(28), deleted_at=at(29), deleted_by="employee")
    return shared


def client_for(client, user):
    client.force_login(user)
    return client


def page_url(code, **params):
    url = reverse("acquisition:live_code_stats", args=[code.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def stat(content: str, name: str) -> str:
    marker = f'data-stat="{name}">'
    start = content.index(marker) + len(marker)
    return content[start:content.index("<", start)]


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def section(rows, title):
    start = rows.index([title]) + 1
    end = next((i for i in range(start, len(rows)) if not rows[i]), len(rows))
    return rows[start:end]


# --- the page --------------------------------------------------------------------------

@pytest.mark.parametrize(("user", "scans", "net", "employees"), [
    ("admin", "7", "5", {"a", "b", "manager"}),
    ("manager", "5", "3", {"a", "manager"}),
    ("staff_a", "4", "3", {"a"}),
    ("staff_b", "2", "2", {"b"}),
])
def test_page_shows_each_role_its_own_numbers(client, world, code, user, scans, net, employees):
    response = client_for(client, getattr(world, user)).get(page_url(code))
    assert response.status_code == 200
    content = response.content.decode()
    assert (stat(content, "scans"), stat(content, "net")) == (scans, net)
    shown = {key for key, emp in world.employees.items()
             if f'data-employee="{emp.pk}"' in content}
    assert shown == employees
    assert "直播间活码" in content
    assert 'id="live-code-stats-data"' in content
    assert "How these numbers are counted" in content


def test_page_retention_and_deleted_split(client, world, code):
    content = client_for(client, world.admin).get(page_url(code)).content.decode()
    assert stat(content, "deleted") == "2"
    assert "1 by the customer, 1 by the employee" in content
    # Adds of the 20th–28th are old enough for 1 day; the manager's was deleted after a day.
    assert stat(content, "retention-1") == "71.4%"   # 5 of 7
    assert stat(content, "retention-30") == "—"


def test_default_range_is_the_last_30_days_and_the_filter_narrows_it(client, world, code):
    c = client_for(client, world.admin)
    content = c.get(page_url(code)).content.decode()
    assert 'value="2025-03-02"' in content and 'value="2025-03-31"' in content
    assert 'data-day="2025-03-02"' in content and 'data-day="2025-03-01"' not in content

    partial = c.get(page_url(code, date_from="2025-03-25", date_to="2025-03-31"), **HTMX)
    body = partial.content.decode()
    assert "<html" not in body
    assert stat(body, "scans") == "3"
    assert "date_from=2025-03-25" in body and "date_to=2025-03-31" in body  # download links


def test_bad_dates_are_explained_next_to_the_field(client, world, code):
    c = client_for(client, world.admin)
    content = c.get(page_url(code, date_from="31/03/2025")).content.decode()
    assert "Use a date like 2025-01-31." in content
    assert stat(content, "scans") == "7"  # default range still shown
    content = c.get(page_url(code, date_from="2025-03-20", date_to="2025-03-10")).content.decode()
    assert "Choose an end date on or after the start date." in content


def test_staff_get_404_for_a_code_they_are_not_on(client, world, code):
    only_b = live_code(world, "only_b", [world.employees["b"]])
    c = client_for(client, world.staff_a)
    assert c.get(page_url(only_b)).status_code == 404
    assert c.get(reverse("acquisition:live_code_stats_csv", args=[only_b.pk])).status_code == 404
    assert c.get(reverse("acquisition:live_code_stats_xlsx", args=[only_b.pk])).status_code == 404


@pytest.mark.parametrize("name", ["live_code_stats", "live_code_stats_csv",
                                  "live_code_stats_xlsx"])
def test_another_enterprises_code_is_404(client, world, other_world, name):
    foreign = live_code(other_world, "foreign", [other_world.employees["a"]])
    add(foreign, other_world.employees["a"], at(20))
    response = client_for(client, world.admin).get(reverse(f"acquisition:{name}",
                                                           args=[foreign.pk]))
    assert response.status_code == 404


def test_anonymous_users_are_sent_to_sign_in(client, code):
    response = client.get(page_url(code))
    assert response.status_code == 302 and "login" in response["Location"]


# --- downloads -------------------------------------------------------------------------

@pytest.mark.parametrize(("user", "employees", "total"), [
    ("admin", {"a": "4", "b": "2", "manager": "1"}, "7"),
    ("manager", {"a": "4", "manager": "1"}, "5"),
    ("staff_a", {"a": "4"}, "4"),
    ("staff_b", {"b": "2"}, "2"),
])
def test_csv_has_per_day_and_per_employee_rows_for_the_role(client, world, code, user,
                                                            employees, total):
    response = client_for(client, getattr(world, user)).get(
        reverse("acquisition:live_code_stats_csv", args=[code.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    rows = csv_rows(response)
    assert rows[0] == ["Live code", "直播间活码"]

    days = section(rows, "Per day")
    assert days[0][:2] == ["Day (China time)", "Scans"]
    assert len(days) == 1 + 30 + 1  # header, 30 days, total
    assert days[-1][:2] == ["Total", total]

    people = section(rows, "Per employee")
    assert people[0][-3:] == ["Retention after 1 day (%)", "Retention after 7 days (%)",
                              "Retention after 30 days (%)"]
    names = {world.employees[key].name: scans for key, scans in employees.items()}
    assert {row[0]: row[1] for row in people[1:-1]} == names
    assert people[-1][:2] == ["Total", total]


def test_csv_values_follow_the_definitions(client, world, code):
    rows = csv_rows(client_for(client, world.admin).get(
        reverse("acquisition:live_code_stats_csv", args=[code.pk])
        + "?date_from=2025-03-20&date_to=2025-03-29"))
    days = {row[0]: row[1:] for row in section(rows, "Per day")[1:]}
    #                        scans new deleted by_customer by_employee net
    assert days["2025-03-20"] == ["3", "3", "0", "0", "0", "3"]
    assert days["2025-03-21"] == ["1", "1", "1", "1", "0", "0"]
    assert days["2025-03-28"] == ["1", "1", "1", "0", "1", "0"]
    people = {row[0]: row[1:] for row in section(rows, "Per employee")[1:]}
    manager = people[world.employees["manager"].name]
    # The manager's add (28th, deleted on the 29th after exactly one day) is 3 days old.
    assert manager == ["1", "1", "1", "0", "1", "0", "0.0", "", ""]
    assert people[world.employees["a"].name][-3:] == ["75.0", "75.0", ""]


def test_csv_neutralises_formulas_in_names(client, world):
    employee = world.employees["a"]
    employee.name = "=HYPERLINK(1)"
    employee.save(update_fields=["name"])
    shared = live_code(world, "+formula", [employee])
    add(shared, employee, at(20))
    rows = csv_rows(client_for(client, world.admin).get(
        reverse("acquisition:live_code_stats_csv", args=[shared.pk])))
    assert rows[0] == ["Live code", "'+formula"]
    assert section(rows, "Per employee")[1][:2] == ["'=HYPERLINK(1)", "1"]


def test_xlsx_has_a_sheet_per_table(client, world, code):
    response = client_for(client, world.staff_a).get(
        reverse("acquisition:live_code_stats_xlsx", args=[code.pk]))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Per day", "Per employee"]
    people = list(book["Per employee"].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(people) if row and row[0] == "Employee")
    assert [row[:2] for row in people[header + 1:]] == [
        (world.employees["a"].name, 4), ("Total", 4)]
    day_rows = list(book["Per day"].iter_rows(values_only=True))
    assert day_rows[-1][:2] == ("Total", 4)


# --- overview --------------------------------------------------------------------------

@pytest.mark.parametrize(("user", "visible"), [
    ("admin", {"直播间活码": "7", "only_b": "1"}),
    ("manager", {"直播间活码": "5", "only_b": "0"}),
    ("staff_a", {"直播间活码": "4"}),
    ("staff_b", {"直播间活码": "2", "only_b": "1"}),
])
def test_overview_per_role(client, world, other_world, code, user, visible):
    only_b = live_code(world, "only_b", [world.employees["b"]])
    add(only_b, world.employees["b"], at(20))
    foreign = live_code(other_world, "foreign", [other_world.employees["a"]])
    add(foreign, other_world.employees["a"], at(20))

    response = client_for(client, getattr(world, user)).get(
        reverse("acquisition:live_codes_stats"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "foreign" not in content
    shown = {}
    for name, pk in (("直播间活码", code.pk), ("only_b", only_b.pk)):
        marker = f'data-code="{pk}"'
        if marker in content:
            row = content[content.index(marker):]
            shown[name] = row[row.index('<td class="num">') + 16:row.index("</td>", row.index(
                '<td class="num">'))]
    assert shown == visible


def test_overview_filter_is_an_htmx_partial(client, world, code):
    response = client_for(client, world.admin).get(
        reverse("acquisition:live_codes_stats") + "?date_from=2025-03-25&date_to=2025-03-31",
        **HTMX)
    body = response.content.decode()
    assert "<html" not in body and 'id="live-codes-stats"' in body
    assert "date_from=2025-03-25&amp;date_to=2025-03-31" in body
