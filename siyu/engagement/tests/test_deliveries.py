"""Welcome deliveries as operators see them: a row left "sending" by a worker that stopped
mid-send reads "unknown" (never re-sent), the sweeper closes such rows, and the welcome page
lists deliveries filtered by status, paged, within the actor's scope and corp."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from siyu.core.jobs.periodic import periodic_hooks
from siyu.engagement.models import WORKER_STOPPED_REASON, WelcomeDelivery
from siyu.engagement.selectors import deliveries_for
from siyu.engagement.services import welcome_deliveries_close_stopped

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_english")]

PAGE = reverse("engagement:welcome")
Status = WelcomeDelivery.Status


def delivery(world, key, status, *, employee="a", age_seconds=0, **fields):
    row = WelcomeDelivery.objects.create(
        corp=world.corp, dedupe_key=key, status=status,
        employee=world.employees[employee] if employee else None, **fields)
    if age_seconds:
        WelcomeDelivery.objects.for_corp(world.corp).filter(pk=row.pk).update(
            created_at=timezone.now() - timedelta(seconds=age_seconds))
        row.refresh_from_db()
    return row


@pytest.fixture
def rows(world):
    return {
        "sent": delivery(world, "sent", Status.SENT, latency_ms=812),
        "failed": delivery(world, "failed", Status.FAILED, reason="WeCom refused (41051)",
                           errcode=41051),
        "skipped": delivery(world, "skipped", Status.SKIPPED, reason="no template"),
        "sending": delivery(world, "sending", Status.SENDING, age_seconds=5),
        "stale": delivery(world, "stale", Status.SENDING, age_seconds=61),
        "closed": delivery(world, "closed", Status.FAILED, reason=WORKER_STOPPED_REASON),
    }


def keys(queryset) -> set[str]:
    return {row.dedupe_key for row in queryset}


def test_display_status_tells_a_stopped_worker_from_a_failure(rows):
    shown = {key: row.display_status for key, row in rows.items()}
    assert shown == {"sent": "sent", "failed": "failed", "skipped": "skipped",
                     "sending": "sending", "stale": "unknown", "closed": "unknown"}
    assert rows["stale"].display_status_label.startswith("Unknown")
    assert "not sent again" in rows["closed"].display_reason
    assert rows["failed"].display_reason == "WeCom refused (41051)"


def test_selector_filters_by_the_displayed_status(world, rows):
    corp = world.corp
    assert keys(deliveries_for(corp)) == set(rows)
    assert keys(deliveries_for(corp, status="unknown")) == {"stale", "closed"}
    assert keys(deliveries_for(corp, status="failed")) == {"failed"}
    assert keys(deliveries_for(corp, status="sent")) == {"sent"}
    assert keys(deliveries_for(corp, status="skipped")) == {"skipped"}
    assert keys(deliveries_for(corp, status="sending")) == {"sending"}
    # Every row is in exactly one displayed status, as the model property says.
    for row in deliveries_for(corp):
        assert row.dedupe_key in keys(deliveries_for(corp, status=row.display_status))


def test_selector_scopes_by_employee_and_corp(world, other_world, rows):
    delivery(world, "of b", Status.SENT, employee="b")
    delivery(world, "nobody", Status.SKIPPED, employee=None)
    delivery(other_world, "other corp", Status.SENT)
    assert "of b" not in keys(deliveries_for(world.corp, employee_ids=[world.employees["a"].pk]))
    everything = keys(deliveries_for(world.corp))
    assert {"of b", "nobody"} <= everything and "other corp" not in everything


def test_sweeper_closes_only_stale_sending_rows_and_is_a_periodic_hook(rows):
    assert welcome_deliveries_close_stopped() == 1
    rows["stale"].refresh_from_db()
    rows["sending"].refresh_from_db()
    assert (rows["stale"].status, rows["stale"].reason) == ("failed", WORKER_STOPPED_REASON)
    assert rows["stale"].display_status == "unknown"
    assert rows["sending"].status == "sending"
    assert welcome_deliveries_close_stopped() == 0
    assert "engagement.close_stopped_welcomes" in {hook.name for hook in periodic_hooks()}


@pytest.fixture
def client_as(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def login(user):
        client.force_login(user)
        return client

    return login


def test_page_shows_unknown_reason_and_latency(client_as, world, rows):
    html = client_as(world.admin).get(PAGE).content.decode()
    assert html.count("Unknown — the worker stopped while sending") >= 3  # 2 rows + filter
    assert "WeCom refused (41051)" in html and "errcode 41051" in html
    assert ">812<" in html
    assert 'data-delivery-status="unknown"' in html


def test_page_filters_by_status_with_htmx_partial(client_as, world, rows):
    client = client_as(world.admin)
    response = client.get(PAGE, {"status": "unknown"}, HTTP_HX_REQUEST="true",
                          HTTP_HX_TARGET="welcome-deliveries")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.count('data-delivery-status="unknown"') == 2
    assert 'data-delivery-status="failed"' not in html
    failed = client.get(PAGE, {"status": "failed"}).content.decode()
    assert failed.count('data-delivery-status="failed"') == 1
    # An unknown filter value lists everything rather than failing.
    assert client.get(PAGE, {"status": "bogus"}).content.decode().count(
        "data-delivery-status=") == len(rows)


def test_page_paginates(client_as, world):
    for number in range(25):
        delivery(world, f"k{number}", Status.SENT)
    client = client_as(world.admin)
    first = client.get(PAGE).content.decode()
    assert first.count("data-delivery-status=") == 20 and "25 items" in first
    second = client.get(PAGE, {"page": 2}).content.decode()
    assert second.count("data-delivery-status=") == 5


def test_page_lists_only_the_actors_scope_and_corp(client_as, world, other_world):
    delivery(world, "mine", Status.SENT, reason="", employee="a", latency_ms=101)
    delivery(world, "outside", Status.SENT, employee="b", latency_ms=202)
    delivery(other_world, "other corp", Status.SENT, latency_ms=303)
    manager = client_as(world.manager).get(PAGE).content.decode()
    assert ">101<" in manager and ">202<" not in manager and ">303<" not in manager
    admin = client_as(world.admin).get(PAGE).content.decode()
    assert ">101<" in admin and ">202<" in admin and ">303<" not in admin
