"""The public landing page (no login): nearest store for a location, the city/district
fallback, 404 for unknown or disabled codes, 400 for a bad location, and never a store of
another enterprise or another code."""

import pytest
from django.test import Client
from django.urls import reverse

from siyu.acquisition.models import StoreCode
from siyu.acquisition.stores.tests import factories as make

JINGAN = (31.2290, 121.4480)
XUHUI = (31.1880, 121.4370)
PUDONG = (31.2200, 121.5440)
HANGZHOU = (30.2741, 120.1551)


@pytest.fixture(autouse=True)
def english(client):
    # Assertions read the English source strings, whatever the catalogs say.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def code(world):
    code = make.store_code(world.corp, name="春季门店")
    make.store(code, "静安店", district="静安区", lat=JINGAN[0], lng=JINGAN[1],
               phone="021-6123 4567", order=0)
    make.store(code, "徐汇店", district="徐汇区", lat=XUHUI[0], lng=XUHUI[1], order=1,
               group=True)
    make.store(code, "浦东店", district="浦东新区", lat=PUDONG[0], lng=PUDONG[1], order=2)
    make.store(code, "西湖店", city="杭州市", district="西湖区", lat=HANGZHOU[0],
               lng=HANGZHOU[1], order=3)
    make.store(code, "无坐标店", district="静安区", order=4)
    return code


def landing(code):
    return reverse("acquisition_public:landing", args=[code.slug])


def nearest(client, code, lat, lng):
    return client.get(reverse("acquisition_public:nearest", args=[code.slug]),
                      {"lat": lat, "lng": lng})


def stores(client, code, **params):
    return client.get(reverse("acquisition_public:stores", args=[code.slug]), params)


def test_landing_page_needs_no_login_and_defaults_to_chinese(code):
    response = Client().get(landing(code))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html and "春季门店" in html
    assert 'data-has-coordinates="1"' in html
    assert "no-store" in response["Cache-Control"]
    # The city picker offers the stores' own cities, nothing else.
    assert ">上海市</option>" in html and ">杭州市</option>" in html


def test_landing_page_in_english(client, code):
    response = client.get(landing(code))
    assert '<html lang="en">' in response.content.decode()
    assert "Choose your city" in response.content.decode()


def test_nearest_store_for_a_location(client, code):
    response = nearest(client, code, "31.2300", "121.4500")
    assert response.status_code == 200
    html = response.content.decode()
    card = html.split('id="nearest-store"')[1].split("Other stores nearby")[0]
    assert "静安店" in card and "021-6123 4567" in card and 'href="tel:021-61234567"' in card
    assert "wework.qpic.cn/wwpic/live-" in card
    assert " m away" in card or " km away" in card
    # The next two nearest are offered below; the far and the unmapped stores are not.
    others = html.split("Other stores nearby")[1]
    assert "徐汇店" in others and "浦东店" in others
    assert "西湖店" not in html and "无坐标店" not in html
    assert "no-store" in response["Cache-Control"]


def test_distance_is_shown_in_metres_and_kilometres(client, code):
    at_the_door = nearest(client, code, str(JINGAN[0]), str(JINGAN[1] + 0.001)).content.decode()
    assert "95 m away" in at_the_door
    in_hangzhou = nearest(client, code, "30.30", "120.16").content.decode()
    assert "西湖店" in in_hangzhou.split("Other stores nearby")[0]
    assert "2.9 km away" in in_hangzhou


def test_a_store_with_a_group_code_shows_both_codes(client, code):
    html = nearest(client, code, str(XUHUI[0]), str(XUHUI[1])).content.decode()
    card = html.split("Other stores nearby")[0]
    assert "徐汇店" in card and "/live-" in card and "/group-" in card


def test_far_away_still_gets_the_nearest_store(client, code):
    # From the other side of the world (across the antimeridian) there is still a nearest.
    html = nearest(client, code, "-33.87", "-179.99").content.decode()
    assert 'id="nearest-store"' in html
    assert "km away" in html


@pytest.mark.parametrize(("lat", "lng", "says"), [
    ("abc", "121.4", "latitude"),
    ("", "121.4", "latitude"),
    ("31.2", "", "longitude"),
    ("91", "121.4", "between -90 and 90"),
    ("31.2", "181", "between -180 and 180"),
    ("nan", "inf", "latitude"),
    ("1e999", "0", "latitude"),
    ("31.2;drop table", "121.4", "latitude"),
])
def test_bad_location_is_a_400_with_a_clear_message(client, code, lat, lng, says):
    response = nearest(client, code, lat, lng)
    assert response.status_code == 400
    html = response.content.decode()
    assert "We could not read your location." in html and says in html
    assert "Choose your city below instead." in html


def test_missing_parameters_are_a_400(client, code):
    response = client.get(reverse("acquisition_public:nearest", args=[code.slug]))
    assert response.status_code == 400
    assert "latitude" in response.content.decode() and "longitude" in response.content.decode()


def test_no_mapped_store_says_so(client, world):
    code = make.store_code(world.corp)
    make.store(code, "无坐标店")
    response = nearest(client, code, "31.2", "121.4")
    assert response.status_code == 200
    assert "None of the stores is on the map yet" in response.content.decode()
    assert 'data-has-coordinates="0"' in client.get(landing(code)).content.decode()


def test_ties_go_to_the_first_store_in_order(client, world):
    code = make.store_code(world.corp)
    make.store(code, "B 店", lat=31.2, lng=121.4, order=2)
    make.store(code, "A 店", lat=31.2, lng=121.4, order=1)
    html = nearest(client, code, "31.3", "121.5").content.decode()
    assert html.split("Other stores nearby")[0].count("A 店") >= 1
    assert "B 店" not in html.split("Other stores nearby")[0]


def test_stores_whose_codes_stopped_are_not_shown(client, world):
    code = make.store_code(world.corp)
    make.store(code, "停用店", lat=31.2, lng=121.4, code_status="disabled")
    make.store(code, "营业店", lat=30.0, lng=120.0)
    make.store(code, "无码店", lat=31.2, lng=121.4, live=False)
    html = nearest(client, code, "31.2", "121.4").content.decode()
    assert "营业店" in html and "停用店" not in html and "无码店" not in html
    assert "停用店" not in stores(client, code, city="上海市").content.decode()


# --- fallback -------------------------------------------------------------------------------
def test_city_then_district_lists_the_stores_there(client, code):
    html = stores(client, code, city="上海市").content.decode()
    for district in ("静安区", "徐汇区", "浦东新区"):
        assert f">{district}</option>" in html
    assert "静安店" in html and "浦东店" in html and "无坐标店" in html
    assert "西湖店" not in html and ">西湖区</option>" not in html
    html = stores(client, code, city="上海市", district="静安区").content.decode()
    assert "静安店" in html and "无坐标店" in html
    assert "徐汇店" not in html and "浦东店" not in html
    assert "wework.qpic.cn/wwpic/live-" in html


def test_one_store_in_the_choice_opens_its_card(client, code):
    html = stores(client, code, city="杭州市").content.decode()
    assert "<details class=\"store-item\" open>" in html and "西湖店" in html


def test_unknown_city_or_district_lists_nothing(client, code):
    html = stores(client, code, city="北京市").content.decode()
    assert 'id="city-stores"' not in html
    assert ">上海市</option>" in html  # the picker is still there
    html = stores(client, code, city="上海市", district="朝阳区").content.decode()
    assert "静安店" in html and "浦东店" in html  # an unknown district is ignored


def test_fallback_works_without_javascript(client, code):
    html = client.get(landing(code), {"city": "上海市", "district": "徐汇区"}).content.decode()
    assert 'id="city-stores"' in html and "徐汇店" in html and "静安店" not in html
    assert "<noscript>" in html


# --- not found and isolation ----------------------------------------------------------------
def test_unknown_slug_is_a_404_page(client, code):
    for url in (reverse("acquisition_public:landing", args=["no-such-code"]),
                reverse("acquisition_public:nearest", args=["no-such-code"]) + "?lat=1&lng=1",
                reverse("acquisition_public:stores", args=["x" * 40])):
        response = client.get(url)
        assert response.status_code == 404
        assert "Store code not found" in response.content.decode()


def test_disabled_code_is_a_404(client, code):
    StoreCode.objects.for_corp(code.corp).filter(pk=code.pk).update(
        status=StoreCode.Status.DISABLED)
    assert client.get(landing(code)).status_code == 404
    assert nearest(client, code, "31.2", "121.4").status_code == 404
    assert stores(client, code, city="上海市").status_code == 404
    assert "Store code not found" in client.get(landing(code)).content.decode()


def test_only_post_and_get_rules(client, code):
    assert client.post(landing(code)).status_code == 405


def test_other_enterprises_and_other_codes_never_show(client, code, world, other_world):
    theirs = make.store_code(other_world.corp, name="对手门店")
    make.store(theirs, "对手静安店", district="静安区", lat=JINGAN[0], lng=JINGAN[1] + 0.0001)
    sibling = make.store_code(world.corp, name="另一个码")
    make.store(sibling, "另一个码的店", district="静安区", lat=JINGAN[0], lng=JINGAN[1])
    # Even at the other stores' exact location, this code answers with its own store.
    html = nearest(client, code, str(JINGAN[0]), str(JINGAN[1] + 0.0001)).content.decode()
    assert "静安店" in html and "对手" not in html and "另一个码" not in html
    listing = stores(client, code, city="上海市", district="静安区").content.decode()
    assert "对手" not in listing and "另一个码" not in listing
    page = client.get(landing(code)).content.decode()
    assert "对手" not in page and "另一个码" not in page
    # And the other way round.
    assert "对手静安店" in nearest(client, theirs, str(JINGAN[0]), str(JINGAN[1])).content.decode()


def test_views_and_nearest_answers_are_counted(client, code):
    client.get(landing(code))
    client.get(landing(code))
    client.get(landing(code), {"city": "上海市"})  # the same visit choosing a city
    stores(client, code, city="上海市")
    nearest(client, code, "31.2300", "121.4500")
    nearest(client, code, "31.2300", "121.4500")
    nearest(client, code, "north", "121.4500")  # refused: counts nothing
    code.refresh_from_db()
    assert code.landing_views == 2
    shown = dict(code.stores.values_list("name", "shown_nearest"))
    assert shown["静安店"] == 2 and sum(shown.values()) == 2
    client.get(reverse("acquisition_public:landing", args=["no-such-code"]))
    code.refresh_from_db()
    assert code.landing_views == 2
