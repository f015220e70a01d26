"""Live code statistics in a real browser: both ECharts charts draw, and changing the date
range swaps the results with htmx (no reload) and draws the charts again for the new range."""

import datetime
import os

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from siyu.acquisition.live_codes.assignment import CHINA, china_day
from siyu.acquisition.stats.tests.factories import add, live_code
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_charts_and_htmx_date_range(open_page, world):
    emp = world.employees
    code = live_code(world, "直播间活码", [emp["a"], emp["b"]])
    today = china_day(timezone.now())
    noon = datetime.datetime.combine(today, datetime.time(12), tzinfo=CHINA)
    for days_ago in (0, 1, 1, 3, 20):
        add(code, emp["a"], noon - datetime.timedelta(days=days_ago))
    add(code, emp["b"], noon - datetime.timedelta(days=20), deleted_at=noon,
        deleted_by="customer")

    page = open_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(world.admin.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/acquisition/live-codes/{code.pk}/stats/")

    expect(page.locator("#chart-live-code-days canvas")).to_have_count(1)
    expect(page.locator("#chart-live-code-employees canvas")).to_have_count(1)
    expect(page.locator('[data-stat="scans"]')).to_have_text("6")
    expect(page.locator("#live-code-days tbody tr")).to_have_count(30)
    if os.environ.get("SIYU_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SIYU_SCREENSHOTS"],
                                          "live-code-stats.png"), full_page=True)
    loaded_at = page.evaluate("performance.timeOrigin")

    page.get_by_label("From").fill((today - datetime.timedelta(days=6)).isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator('[data-stat="scans"]')).to_have_text("4")
    expect(page.locator("#live-code-days tbody tr")).to_have_count(7)
    expect(page.locator("#chart-live-code-days canvas")).to_have_count(1)
    expect(page.locator("#chart-live-code-employees canvas")).to_have_count(1)
    assert page.evaluate("performance.timeOrigin") == loaded_at
    assert f"date_from={(today - datetime.timedelta(days=6)).isoformat()}" in page.url
    href = page.get_by_role("link", name="Download CSV").get_attribute("href")
    assert f"date_from={(today - datetime.timedelta(days=6)).isoformat()}" in href
