"""The store code landing page in a real browser, as a customer's phone opens it: with the
location allowed it shows the nearest store; with the location refused it says so and the
city → district choice leads to a store and its code."""

import re

import pytest
from playwright.sync_api import expect

from siyu.acquisition.stores.tests import factories as make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JINGAN = (31.2290, 121.4480)
XUHUI = (31.1880, 121.4370)
PUDONG = (31.2200, 121.5440)


@pytest.fixture
def code(world):
    code = make.store_code(world.corp, name="春季门店")
    make.store(code, "静安店", district="静安区", lat=JINGAN[0], lng=JINGAN[1], order=0)
    make.store(code, "徐汇店", district="徐汇区", lat=XUHUI[0], lng=XUHUI[1], order=1,
               phone="021-6400 0000")
    make.store(code, "浦东店", district="浦东新区", lat=PUDONG[0], lng=PUDONG[1], order=2)
    make.store(code, "西湖店", city="杭州市", district="西湖区", lat=30.2741, lng=120.1551)
    theirs = make.store_code(world.corp, name="别的码")
    make.store(theirs, "别的码的徐汇店", district="徐汇区", lat=XUHUI[0], lng=XUHUI[1])
    return code


def phone(open_page, live_server):
    page = open_page()
    page.set_viewport_size({"width": 390, "height": 844})
    # QR images live on WeCom's hosts; a test never reaches out to them.
    page.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1).*"), lambda route: route.abort())
    return page


def test_allowed_location_shows_the_nearest_store(open_page, live_server, code):
    page = phone(open_page, live_server)
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": 31.1900, "longitude": 121.4380, "accuracy": 30})

    page.goto(f"/s/{code.slug}/")

    nearest = page.locator("#nearest-store")
    expect(nearest.get_by_role("heading", name="Your nearest store")).to_be_visible()
    card = nearest.locator("article.store-card").first
    expect(card.get_by_role("heading", name="徐汇店")).to_be_visible()
    expect(card.get_by_text(re.compile(r"^\d+ m away$"))).to_be_visible()
    expect(card.get_by_role("link", name="Call 021-6400 0000")).to_have_attribute(
        "href", "tel:021-64000000")
    expect(card.get_by_role("img", name=re.compile("QR code to add a staff member of 徐汇店"))
           ).to_have_attribute("src", re.compile(r"wework\.qpic\.cn/wwpic/live-"))
    expect(page.locator("#locate")).to_be_hidden()
    expect(page.get_by_text("别的码的徐汇店")).to_have_count(0)


def test_refused_location_falls_back_to_city_and_district(open_page, live_server, code):
    page = phone(open_page, live_server)
    page.context.clear_permissions()

    page.goto(f"/s/{code.slug}/")

    expect(page.get_by_role("status")).to_have_text(
        "You did not allow the location. Choose your city below instead.")
    expect(page.get_by_role("button", name="Find the nearest store")).to_be_visible()
    expect(page.locator("#nearest-store")).to_have_count(0)

    page.get_by_label("City").select_option("上海市")
    district = page.get_by_label("District")
    expect(district).to_be_visible()
    expect(page.locator("#city-stores summary", has_text="浦东店")).to_be_visible()
    district.select_option("徐汇区")
    stores = page.locator("#city-stores")
    expect(stores.locator("summary", has_text="浦东店")).to_have_count(0)
    # One store in the choice: its card is open with its code.
    expect(stores.get_by_role("heading", name="徐汇店")).to_be_visible()
    expect(stores.get_by_role("img", name=re.compile("QR code to add a staff member of 徐汇店"))
           ).to_be_visible()
    expect(page.get_by_text("别的码的徐汇店")).to_have_count(0)

    # Another city: the district choice starts over.
    page.get_by_label("City").select_option("杭州市")
    expect(page.locator("#city-stores").get_by_role("heading", name="西湖店")).to_be_visible()
    expect(page.get_by_label("District")).to_have_value("")


# Stand-ins for what phones do when the location does not come: each replaces the browser's
# geolocation before the page's script runs.
FAILURES = {
    "unsupported": ("delete Navigator.prototype.geolocation;",
                    "This browser cannot share its location."),
    "insecure": ("Object.defineProperty(window, 'isSecureContext', {value: false});",
                 "The location can only be shared over a secure (https) connection."),
    "timeout": ("navigator.geolocation.getCurrentPosition = (ok, fail) => "
                "setTimeout(() => fail({code: 3, message: 'Timeout expired'}), 50);",
                "Your location could not be found in time."),
    "unavailable": ("navigator.geolocation.getCurrentPosition = (ok, fail) => "
                    "fail({code: 2, message: 'Position unavailable'});",
                    "Your phone could not tell its location."),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_every_way_the_location_fails_falls_back(open_page, live_server, code, failure):
    script, says = FAILURES[failure]
    page = phone(open_page, live_server)
    page.add_init_script(script)
    page.goto(f"/s/{code.slug}/")
    expect(page.get_by_role("status")).to_have_text(f"{says} Choose your city below instead.")
    page.get_by_label("City").select_option("杭州市")
    expect(page.locator("#city-stores").get_by_role("heading", name="西湖店")).to_be_visible()


def test_an_unanswered_prompt_falls_back_and_a_late_position_still_wins(open_page, live_server,
                                                                        code):
    page = phone(open_page, live_server)
    # The customer ignores the permission prompt: no answer at all until we give one.
    page.add_init_script("navigator.geolocation.getCurrentPosition = (ok) => "
                         "{ window.__answer = ok; };")
    page.clock.install()
    page.goto(f"/s/{code.slug}/")
    expect(page.get_by_role("status")).to_have_text("Finding your location…")
    page.clock.fast_forward(16_000)
    expect(page.get_by_role("status")).to_have_text(
        "Your location could not be found in time. Choose your city below instead.")
    page.evaluate("([lat, lng]) => window.__answer({coords: {latitude: lat, longitude: lng}})",
                  list(PUDONG))
    expect(page.locator("#nearest-store article.store-card").first.get_by_role(
        "heading", name="浦东店")).to_be_visible()
