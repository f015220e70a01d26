"""Console shell: sign-in, sign-out, overview, area pages, access rules and navigation."""

import re

import pytest
from django.urls import reverse

from siyu.accounts.models import LoginAttempt
from siyu.core.models import AuditLog
from tests.fixtures import PASSWORD

ROLES = ["admin", "manager", "staff_a", "staff_b"]


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English source strings; zh-hans, the default, gets a catalog later.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def login_as(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"#]+)"', html)


# ---------- sign-in / sign-out ----------

def test_login_page_renders_branded_form(client, db):
    response = client.get(reverse("console:login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert "Siyu SCRM" in html
    assert 'action="/i18n/setlang/"' in html  # language switch on the login page too


def test_login_with_correct_password_signs_in_and_redirects_to_next(client, world):
    response = client.post(reverse("console:login"), {
        "username": world.admin.username, "password": PASSWORD, "next": "/tags/"})
    assert response.status_code == 302
    assert response["Location"] == "/tags/"
    assert client.get(reverse("console:home")).status_code == 200
    assert AuditLog.objects.for_corp(world.corp).filter(action="login").count() == 1


def test_login_ignores_next_pointing_elsewhere(client, world):
    response = client.post(reverse("console:login"), {
        "username": world.admin.username, "password": PASSWORD,
        "next": "https://evil.example/steal"})
    assert response["Location"] == reverse("console:home")


def test_wrong_password_shows_the_service_message(client, world):
    response = client.post(reverse("console:login"), {
        "username": world.admin.username, "password": "nope-nope-1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Wrong username or password." in html
    assert "Check and try again." in html  # the field error, next to the password input
    assert "_auth_user_id" not in client.session


def test_empty_form_names_the_missing_fields(client, db):
    response = client.post(reverse("console:login"), {"username": "", "password": ""})
    html = response.content.decode()
    assert "Enter your username." in html and "Enter your password." in html
    assert not LoginAttempt.objects.exists()


def test_five_failures_lock_the_account_even_for_the_right_password(client, world, settings):
    settings.SIYU_LOGIN_MAX_FAILURES = 5
    url = reverse("console:login")
    for _ in range(5):
        client.post(url, {"username": world.staff_a.username, "password": "wrong-pass-1"})
    response = client.post(url, {"username": world.staff_a.username, "password": PASSWORD})
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-ins for this account" in html
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("console:home")).status_code == 302
    # Another account is not affected.
    ok = client.post(url, {"username": world.staff_b.username, "password": PASSWORD})
    assert ok.status_code == 302


def test_signed_in_user_visiting_login_goes_home(login_as, world):
    client = login_as(world.staff_a)
    response = client.get(reverse("console:login"))
    assert response.status_code == 302 and response["Location"] == reverse("console:home")


def test_logout_requires_post_and_ends_the_session(login_as, world):
    client = login_as(world.admin)
    assert client.get(reverse("console:logout")).status_code == 405
    response = client.post(reverse("console:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("console:login")
    assert client.get(reverse("console:home")).status_code == 302
    assert "You have signed out." in client.get(reverse("console:login")).content.decode()


# ---------- anonymous and permission-less access ----------

@pytest.mark.parametrize("url_name", ["console:home", "console:audit"])
def test_anonymous_is_sent_to_login(client, db, url_name):
    url = reverse(url_name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('console:login')}?next={url}"


def test_anonymous_area_page_redirects(client, db):
    response = client.get(reverse("console:area", args=["leads"]))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["manager", "staff_a"])
def test_audit_log_is_403_without_permission(login_as, world, role):
    response = login_as(getattr(world, role)).get(reverse("console:audit"))
    assert response.status_code == 403
    assert "audit.view" in response.content.decode()


# ---------- overview ----------

@pytest.mark.parametrize("role", ROLES)
def test_home_renders_for_every_role(login_as, world, other_world, role):
    response = login_as(getattr(world, role)).get(reverse("console:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert world.corp.name in html  # top bar
    assert "home-chart-data" in html
    assert "echarts.min.js" in html
    assert other_world.corp.name not in html


@pytest.mark.parametrize(("role", "total"), [("admin", 4), ("manager", 3), ("staff_a", 2),
                                             ("staff_b", 1)])
def test_home_counts_follow_the_scope(login_as, world, other_world, role, total):
    response = login_as(getattr(world, role)).get(reverse("console:home"))
    counts = response.context["counts"]
    assert counts["total"] == total
    assert counts["added"] == total  # every fixture customer was added just now
    assert counts["net"] == total
    chart = response.context["chart_data"]
    assert len(chart["days"]) == 30 and sum(chart["adds"]) == total
    assert sum(row["value"] for row in chart["channels"]) == total


def test_home_employee_count_is_scoped(login_as, world, other_world):
    assert login_as(world.admin).get("/").context["employee_count"] == 3
    assert login_as(world.manager).get("/").context["employee_count"] == 2
    assert login_as(world.staff_b).get("/").context["employee_count"] == 1


# ---------- area pages ----------

def test_area_page_says_plainly_it_is_not_available(login_as, world):
    response = login_as(world.staff_a).get(reverse("console:area", args=["fission"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "not available yet" in html
    assert "Requirement B5" in html
    assert "invite friends with a personal poster" in html


def test_area_page_of_a_built_area_redirects_to_it(login_as, world):
    response = login_as(world.admin).get(reverse("console:area", args=["tags"]))
    assert response.status_code == 302 and response["Location"] == reverse("tags:list")


def test_unknown_area_is_the_console_404_page(login_as, world):
    response = login_as(world.admin).get("/area/no-such-thing/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and 'class="sidebar"' in html


def test_area_page_respects_the_items_permission(login_as, world):
    assert login_as(world.staff_a).get("/area/audit/").status_code == 403


# ---------- navigation ----------

def test_every_navigation_link_works_for_an_admin(login_as, world):
    client = login_as(world.admin)
    html = client.get(reverse("console:home")).content.decode()
    nav = html.split('<nav class="nav">', 1)[1].split("</nav>", 1)[0]
    links = hrefs(nav)
    assert len(links) >= 30  # overview + every area of requirements.md
    for href in links:
        response = client.get(href, follow=True)
        assert response.status_code == 200, href


def test_navigation_hides_items_without_permission(login_as, world):
    staff_nav = login_as(world.staff_a).get("/").context["nav_sections"]
    slugs = {item.area.slug for section in staff_nav for item in section.items}
    assert "audit" not in slugs and "jobs" not in slugs
    assert {"customers", "tags", "employees", "departments"} <= slugs
    admin_nav = login_as(world.admin).get("/").context["nav_sections"]
    assert {"audit", "jobs"} <= {i.area.slug for s in admin_nav for i in s.items}


def test_current_item_is_highlighted(login_as, world):
    response = login_as(world.admin).get(reverse("console:area", args=["leads"]))
    active = [i.area.slug for s in response.context["nav_sections"] for i in s.items if i.active]
    assert active == ["leads"]
    assert 'aria-current="page"' in response.content.decode()


def test_top_bar_shows_user_role_and_language_switch(login_as, world):
    html = login_as(world.manager).get("/").content.decode()
    assert "x经理" in html  # the linked employee's name
    assert "Manager" in html
    assert 'name="language" value="zh-hans"' in html and 'name="language" value="en"' in html


def test_language_switch_changes_the_language(login_as, world):
    client = login_as(world.admin)
    assert '<html lang="en">' in client.get("/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/tags/"})
    assert response.status_code == 302 and response["Location"] == "/tags/"
    html = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in html
    assert re.search(r'value="zh-hans" lang="zh-Hans" class="is-active"', html)


def test_htmx_csrf_header_is_set_on_body(login_as, world):
    html = login_as(world.admin).get("/").content.decode()
    assert re.search(r'<body[^>]+hx-headers=\'\{"X-CSRFToken": "[A-Za-z0-9]+"\}\'', html)


def test_pages_use_no_external_assets(login_as, world):
    html = login_as(world.admin).get("/").content.decode()
    assert not re.search(r'(src|href)="(https?:)?//', html)
