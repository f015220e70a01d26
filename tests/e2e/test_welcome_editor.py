"""The welcome editor in a real browser: a manager writes an employee's default welcome with a
placeholder, a link and an image, previews it and saves it; a link without a title is refused
with the error next to the field and nothing saved."""

import re

import pytest
from playwright.sync_api import expect

from siyu.engagement.models import WelcomeTemplate
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, user):
    page.goto("/engagement/welcome/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/engagement/welcome/$"))


def field(page, name):
    return page.locator(f'[name="{name}"]')


def test_manager_writes_previews_and_saves_a_welcome(open_page, world):
    employee = world.employees["a"]
    page = open_page()
    sign_in(page, world.manager)
    page.get_by_label("For").select_option(label=f"{employee.name} ({employee.userid})")

    text = page.get_by_label("Welcome text")
    text.fill("您好")
    page.get_by_role("button", name="{customer_name}").click()
    text.press("End")
    text.press_sequentially("，我是")
    page.get_by_role("button", name="{employee_name}").click()
    expect(text).to_have_value("您好{customer_name}，我是{employee_name}")
    # Five Chinese characters (the full-width comma among them) of 3 bytes each, and 30 ASCII
    # bytes of placeholders.
    expect(page.locator("[data-welcome-bytes]")).to_have_text("45")

    page.get_by_role("button", name="+ Link").click()
    field(page, "welcome-attachments-0-title").fill("新人礼")
    field(page, "welcome-attachments-0-url").fill("https://shop.example.com/gift")
    page.get_by_role("button", name="+ Image").click()
    field(page, "welcome-attachments-1-pic_url").fill("https://shop.example.com/a.png")
    expect(page.locator("[data-welcome-count]")).to_have_text("2")
    # Fields of other kinds stay out of the way.
    expect(field(page, "welcome-attachments-1-title")).to_be_hidden()

    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#welcome-preview")
    expect(preview.get_by_text("您好王小明，我是李娜")).to_be_visible()
    expect(preview.locator('[data-welcome-card="link"]')).to_contain_text("新人礼")
    expect(preview.locator('[data-welcome-card="image"] img')).to_have_attribute(
        "src", "https://shop.example.com/a.png")
    assert page.evaluate("window.__sameDocument === true"), "the preview reloaded the page"

    page.get_by_role("button", name="Save welcome message").click()
    expect(page).to_have_url(re.compile(r"/engagement/welcome/$"))
    template = WelcomeTemplate.objects.for_corp(world.corp).get(employee=employee)
    assert template.text == "您好{customer_name}，我是{employee_name}"
    assert template.attachments == [
        {"msgtype": "link", "link": {"title": "新人礼", "url": "https://shop.example.com/gift"}},
        {"msgtype": "image", "image": {"pic_url": "https://shop.example.com/a.png"}},
    ]


def test_link_without_title_shows_the_field_error_and_saves_nothing(open_page, world):
    employee = world.employees["a"]
    page = open_page()
    sign_in(page, world.manager)
    page.get_by_label("For").select_option(label=f"{employee.name} ({employee.userid})")
    page.get_by_label("Welcome text").fill("您好")
    page.get_by_role("button", name="+ Image").click()
    field(page, "welcome-attachments-0-media_id").fill("MEDIA_1")
    page.get_by_role("button", name="+ Link").click()
    field(page, "welcome-attachments-1-url").fill("https://shop.example.com/gift")
    # Reordered: the link goes first, so the error names attachment 1.
    page.locator("[data-welcome-row]").nth(1).get_by_role("button", name="Move up").click()
    expect(field(page, "welcome-attachments-0-url")).to_have_value(
        "https://shop.example.com/gift")

    page.get_by_role("button", name="Save welcome message").click()
    expect(page.get_by_text("nothing was saved")).to_be_visible()
    title = page.locator(".field", has=field(page, "welcome-attachments-0-title"))
    expect(title.locator(".field-error")).to_have_text(
        "Attachment 1 (link): title is required; fill it in.")
    expect(field(page, "welcome-attachments-0-url")).to_have_value(
        "https://shop.example.com/gift")
    expect(field(page, "welcome-attachments-1-media_id")).to_have_value("MEDIA_1")
    assert not WelcomeTemplate.objects.for_corp(world.corp).exists()
