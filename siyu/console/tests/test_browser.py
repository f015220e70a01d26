"""The console shell in a real browser: htmx requests carry the CSRF token from <body>, inline
tag editing swaps one card, field errors appear beside the input, live search filters the
employee table, and the language switch works. Debian's Chromium, driven by Playwright."""

import re

import pytest
from playwright.sync_api import expect

from siyu.tags.models import Tag, TagGroup
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

@pytest.fixture
def page(open_page):
    return open_page()


def sign_in(page, user):
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".topbar-user")).to_be_visible()


def test_inline_tag_editing_with_htmx(page, world):
    sign_in(page, world.admin)
    page.goto("/tags/")
    loaded_at = page.evaluate("performance.timeOrigin")

    page.get_by_label("Group name").first.fill("兴趣")
    page.get_by_role("button", name="Create group").click()
    card = page.locator(".tag-group", has_text="兴趣")
    expect(card).to_be_visible()
    expect(page.locator(".toast", has_text="Tag group “兴趣” created.")).to_be_visible()

    card.get_by_label("New tag name").fill("旅行")
    card.get_by_role("button", name="Add tag").click()
    expect(card.locator(".badge-tag", has_text="旅行")).to_be_visible()

    card = page.locator(".tag-group", has_text="兴趣")
    card.get_by_label("New tag name").fill("旅行")
    card.get_by_role("button", name="Add tag").click()
    expect(card.locator(".field-error")).to_have_text(
        "The group already has a tag “旅行”. Choose another name.")

    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_title("Delete this group").click()
    expect(page.locator(".tag-group", has_text="兴趣")).to_have_count(0)

    # Every step above was an htmx swap, never a page load, and each POST passed CSRF.
    assert page.evaluate("performance.timeOrigin") == loaded_at
    assert not TagGroup.objects.for_corp(world.corp).filter(name="兴趣").exists()
    assert Tag.objects.for_corp(world.corp).count() == 1


def test_employee_live_search_and_language_switch(page, world):
    sign_in(page, world.admin)
    page.goto("/org/employees/")
    rows = page.locator("#employee-results tbody tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Search").fill("_mgr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("x经理")
    expect(page).to_have_url(re.compile(r"q=_mgr"))

    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(re.compile(r"/org/employees/\?q=_mgr"))
