"""The WeCom API calls page in a real browser: the ECharts bar chart draws, and the result
filter swaps the list with htmx without reloading the page."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from siyu.wecom.models import ApiCall
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_chart_and_htmx_filter(open_page, world):
    now = timezone.now()
    for i, (api, errcode) in enumerate([("externalcontact/get", 0)] * 6
                                       + [("externalcontact/get", -1)] * 2
                                       + [("externalcontact/batch/get_by_user", 0)] * 3
                                       + [("gettoken", 0)]):
        ApiCall.objects.create(corp=world.corp, api=api, errcode=errcode, latency_ms=50 + 10 * i,
                               errmsg="system busy" if errcode else "ok", http_status=200,
                               created_at=now - timedelta(seconds=i))
    page = open_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(world.admin.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/wecom/calls/")

    expect(page.locator("#chart-api-calls canvas")).to_have_count(1)
    expect(page.locator("#calls-results tbody tr")).to_have_count(12)
    if os.environ.get("SIYU_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SIYU_SCREENSHOTS"], "wecom-calls.png"),
                        full_page=True)
    loaded_at = page.evaluate("performance.timeOrigin")

    page.get_by_label("Result or errcode").fill("-1")
    page.get_by_label("Result or errcode").press("Enter")
    expect(page.locator("#calls-results tbody tr")).to_have_count(2)
    expect(page.locator("#calls-results")).to_contain_text("system busy")
    assert page.evaluate("performance.timeOrigin") == loaded_at  # swapped, not reloaded
    assert "errcode=-1" in page.url
