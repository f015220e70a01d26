"""The console's main customer flow in a real browser: sign in, find a customer with the live
search, open them, add a tag, and see the new timeline entry appear without a reload."""

import re

import pytest
from playwright.sync_api import expect

from siyu.customers.models import CustomerTag, TimelineEvent
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_search_tag_customer_and_see_timeline(open_page, world):
    customer, sibling = world.customers["A1"], world.customers["A2"]
    page = open_page()

    page.goto("/customers/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/customers/"))
    page.get_by_label("Username").fill(world.staff_a.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/customers/$"))
    table = page.locator("#customer-table")
    expect(table.get_by_role("link", name=customer.name)).to_be_visible()
    expect(table.get_by_role("link", name=sibling.name)).to_be_visible()
    # Out of staff_a's scope: never listed.
    expect(table.get_by_text(world.customers["B1"].name)).to_have_count(0)

    # Live search (htmx on keyup): typing the phone narrows the table and updates the URL.
    page.get_by_role("searchbox").press_sequentially(customer.phones[0])
    expect(table.get_by_role("link", name=sibling.name)).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"q={customer.phones[0]}"))
    table.get_by_role("link", name=customer.name).click()

    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/$"))
    expect(page.get_by_role("heading", name=customer.name, level=1)).to_be_visible()
    # Marks this document: it survives an htmx swap but not a full page load.
    page.evaluate("window.__sameDocument = true")

    tags = page.locator("#customer-tags")
    tags.get_by_label("Tag to add").select_option(label="VIP")
    tags.get_by_role("button", name="Add tag").click()

    timeline = page.locator("#customer-timeline")
    expect(timeline.get_by_text("Tag added: VIP")).to_be_visible()
    expect(tags.get_by_role("button", name="Remove tag VIP")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded instead of swapping"

    assert CustomerTag.objects.for_corp(world.corp).filter(
        customer=customer, tag=world.tags["vip"]).exists()
    assert TimelineEvent.objects.for_corp(world.corp).filter(
        customer=customer, kind=TimelineEvent.Kind.TAGGED).count() == 1
