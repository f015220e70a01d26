"""The sidebar declaration: complete, permission names valid, no dead links while pages are
still being built."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from siyu.accounts.roles import PERMISSIONS
from siyu.console import navigation
from siyu.console.navigation import SECTIONS, Area, area_url, navigation_for


def all_areas():
    return [area for section in SECTIONS for area in section.areas]


def test_slugs_are_unique_and_permissions_exist():
    slugs = [area.slug for area in all_areas()]
    assert len(slugs) == len(set(slugs))
    for area in all_areas():
        assert not area.permission or area.permission in PERMISSIONS, area.slug


@translation.override("en")
def test_every_area_of_the_brief_is_listed():
    labels = {str(area.label) for area in all_areas()}
    assert labels >= {
        "Customer list", "Tags", "Channel live codes", "Group live codes", "Store live codes",
        "Friend fission", "Leads", "Welcome messages", "SOP", "Mass messaging", "Moments",
        "Sidebar scripts", "Auto-reply", "Customer care", "Campaigns", "Pipeline",
        "Contracts & orders", "Products", "Statistics", "Churn alerts", "Transfer",
        "Chat archive", "Team", "Segments & RFM", "Dashboards", "Employees", "Departments",
        "Audit log", "Background jobs",
    }


@translation.override("en")
def test_each_area_cites_its_requirement():
    # IDs from docs/requirements.md; the area page shows them to the operator.
    assert {area.slug: area.requirement for area in all_areas()} == {
        "customers": "A1", "tags": "A3", "channel-codes": "B2", "group-codes": "B3",
        "store-codes": "B4", "fission": "B5", "leads": "B6", "welcome": "C1", "sop": "C2",
        "mass-messaging": "C5", "moments": "C4", "scripts": "C6", "auto-reply": "C7",
        "care": "C8", "campaigns": "C9", "pipeline": "D1", "orders": "D2", "products": "D4",
        "statistics": "E1", "churn-alerts": "E3", "transfer": "E4", "chat-archive": "E5",
        "team": "E6", "segments": "A4", "dashboards": "E7", "employees": "F1",
        "departments": "F1", "audit": "F2", "jobs": "G4", "groups": "E2",
        "wecom-events": "G1", "wecom-sync": "G1", "wecom-calls": "G1",
    }
    assert all(str(area.summary).endswith(".") for area in all_areas())


def test_unresolvable_url_name_falls_back_to_the_area_page():
    area = Area("leads", "Leads", "B6", "x", url_name="leads:not_built_yet")
    assert area_url(area) == (reverse("console:area", args=["leads"]), False)


def test_resolvable_url_name_links_to_the_page():
    area = Area("tags", "Tags", "A3", "x", url_name="tags:list")
    assert area_url(area) == (reverse("tags:list"), True)


def test_navigation_survives_an_app_without_urls(world, monkeypatch):
    broken = Area("pipeline", "Pipeline", "D1", "x", url_name="sales:pipeline")
    sections = (navigation.Section("sales", "Sales", "briefcase", (broken,)),)
    monkeypatch.setattr(navigation, "SECTIONS", sections)
    request = RequestFactory().get("/area/pipeline/")
    request.user = world.staff_a
    [section] = navigation_for(request)
    [item] = section.items
    assert item.href == "/area/pipeline/" and not item.built and item.active


def test_anonymous_gets_no_navigation(db):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert navigation_for(request) == []


@pytest.mark.parametrize(("path", "active"), [
    ("/tags/", "tags"), ("/org/employees/", "employees"), ("/org/departments/", "departments"),
    ("/", None),
])
def test_the_longest_matching_href_is_active(world, path, active):
    request = RequestFactory().get(path)
    request.user = world.admin
    found = [i.area.slug for s in navigation_for(request) for i in s.items if i.active]
    assert found == ([active] if active else [])
