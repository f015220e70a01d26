"""Audit log page: admin only, corp-scoped, filterable, paginated, old → new per field."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from siyu.core.audit import audit_record
from siyu.core.models import AuditLog


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English source strings; zh-hans, the default, gets a catalog later.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def logs(world, other_world):
    audit_record(corp=world.corp, actor=world.admin, action="tag.update", obj=world.tags["vip"],
                 changes={"name": ["VIP", "VVIP"]})
    audit_record(corp=world.corp, actor=world.staff_a, action="customer.update",
                 obj=world.customers["A1"], changes={"email": [None, "a1@example.com"]})
    audit_record(corp=other_world.corp, actor=other_world.admin, action="tag.update",
                 obj=other_world.tags["vip"], object_repr="OTHER-CORP-SECRET",
                 changes={"name": ["VIP", "OTHER-CORP-VALUE"]})


def get(client, user, **params):
    client.force_login(user)
    return client.get(reverse("console:audit"), params)


def test_admin_sees_who_when_what_and_old_to_new(client, world, logs):
    response = get(client, world.admin)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Renamed a tag" in html and "tag.update" in html
    assert "x_admin" in html and "x_staff_a" in html
    assert '<span class="old">VIP</span>' in html and '<span class="new">VVIP</span>' in html
    # A value set for the first time shows as added, not as "nothing → value".
    assert '<span class="new added">a1@example.com</span>' in html


def test_never_shows_another_corps_rows(client, world, other_world, logs):
    html = get(client, world.admin).content.decode()
    assert "OTHER-CORP" not in html and "y_admin" not in html
    html = get(client, world.admin, actor="y_admin").content.decode()
    assert "OTHER-CORP" not in html and "No entries match these filters." in html
    other = get(client, other_world.admin).content.decode()
    assert "OTHER-CORP-SECRET" in other and "VVIP" not in other


def test_filters_by_action_and_actor(client, world, logs):
    response = get(client, world.admin, action="customer.update")
    rows = list(response.context["page_obj"])
    assert [r.action for r in rows] == ["customer.update"]
    response = get(client, world.admin, actor="staff")
    assert [r.actor_label for r in response.context["page_obj"]] == ["x_staff_a"]
    choices = dict(response.context["form"].fields["action"].widget.choices)
    assert "customer.update" in choices and "tag.update" in choices


def test_filters_by_local_date(client, world, logs, settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    # 2024-03-01 23:30 in Shanghai is 15:30 UTC the same day; 2024-03-02 00:30 is 16:30 UTC
    # on 03-01: the filter must use the local day, not the UTC one.
    tz = timezone.get_current_timezone()
    late = audit_record(corp=world.corp, actor=world.admin, action="login", obj=world.admin)
    early = audit_record(corp=world.corp, actor=world.admin, action="login.failed")
    AuditLog.objects.for_corp(world.corp).filter(pk=late.pk).update(
        created_at=datetime.datetime(2024, 3, 1, 23, 30, tzinfo=tz))
    AuditLog.objects.for_corp(world.corp).filter(pk=early.pk).update(
        created_at=datetime.datetime(2024, 3, 2, 0, 30, tzinfo=tz))
    day1 = get(client, world.admin, date_from="2024-03-01", date_to="2024-03-01")
    assert [r.pk for r in day1.context["page_obj"]] == [late.pk]
    day2 = get(client, world.admin, date_from="2024-03-02", date_to="2024-03-02")
    assert [r.pk for r in day2.context["page_obj"]] == [early.pk]
    assert "2024-03-02 00:30:00" in day2.content.decode()  # shown in local time


def test_bad_dates_are_explained_next_to_the_field(client, world, logs):
    html = get(client, world.admin, date_from="2024-03-05", date_to="2024-03-01").content.decode()
    assert "The end date is before the start date." in html
    html = get(client, world.admin, date_from="yesterday").content.decode()
    assert "Use a date like 2025-01-31." in html


def test_paginates_thirty_per_page(client, world):
    for i in range(35):
        audit_record(corp=world.corp, actor=world.admin, action="tag.update",
                     object_repr=f"tag {i}")
    first = get(client, world.admin)
    assert len(first.context["page_obj"]) == 30
    second = get(client, world.admin, page=2)
    assert len(second.context["page_obj"]) == 5
    assert 'rel="prev"' in second.content.decode()
    assert get(client, world.admin, page=99).context["page_obj"].number == 2


def test_htmx_request_gets_only_the_results(client, world, logs):
    client.force_login(world.admin)
    response = client.get(reverse("console:audit"), {"action": "tag.update"},
                          HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<table" in html and "<html" not in html and 'class="sidebar"' not in html
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_full_page(client, world, logs):
    client.force_login(world.admin)
    response = client.get(reverse("console:audit"), HTTP_HX_REQUEST="true",
                          HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()
