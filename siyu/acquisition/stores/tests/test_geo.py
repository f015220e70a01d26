"""Geolocation edge cases: known distances, antipodes, the antimeridian, the poles, coordinates
sent as hostile strings, ties and stores without coordinates, and the GCJ-02 conversion."""

import math
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.acquisition.stores import geo
from siyu.core.errors import ValidationFailed

pytestmark = pytest.mark.usefixtures("in_english")

BEIJING = (39.9042, 116.4074)
SHANGHAI = (31.2304, 121.4737)


@dataclass
class FakeStore:
    pk: int
    latitude: Decimal | None
    longitude: Decimal | None
    order: int = 0


def to_decimal(value):
    return None if value is None else Decimal(str(value))


def store(pk, lat, lng, order=0):
    return FakeStore(pk, to_decimal(lat), to_decimal(lng), order)


# --- distance -------------------------------------------------------------------------------
def test_beijing_shanghai_is_about_1067_km():
    assert geo.haversine_km(*BEIJING, *SHANGHAI) == pytest.approx(1067, rel=0.01)


def test_london_new_york_is_about_5570_km():
    assert geo.haversine_km(51.5074, -0.1278, 40.7128, -74.0060) == pytest.approx(5570,
                                                                                   rel=0.01)


def test_same_point_is_zero():
    assert geo.haversine_km(*SHANGHAI, *SHANGHAI) == 0


def test_antipodes_are_half_the_circumference():
    half = math.pi * geo.EARTH_RADIUS_KM
    assert geo.haversine_km(0, 0, 0, 180) == pytest.approx(20015.1, abs=0.1)
    assert geo.haversine_km(*BEIJING, -BEIJING[0], BEIJING[1] - 180) == pytest.approx(half)
    assert geo.haversine_km(90, 0, -90, 0) == pytest.approx(half)


def test_antimeridian_is_crossed_the_short_way():
    # 0.2° of longitude on the equator is about 22 km, whichever side the points are on.
    across = geo.haversine_km(0, 179.9, 0, -179.9)
    assert across == pytest.approx(22.24, abs=0.01)
    assert across == pytest.approx(geo.haversine_km(0, -0.1, 0, 0.1))
    assert geo.haversine_km(0, 180, 0, -180) == pytest.approx(0, abs=1e-9)


def test_every_longitude_at_a_pole_is_the_same_point():
    assert geo.haversine_km(90, 0, 90, 179) == pytest.approx(0, abs=1e-6)
    assert geo.haversine_km(-90, -45, -90, 120) == pytest.approx(0, abs=1e-6)
    # One degree of latitude from the pole, whatever the longitude.
    assert geo.haversine_km(90, 0, 89, -170) == pytest.approx(111.19, abs=0.01)


def test_distance_is_symmetric_and_accepts_decimals():
    forward = geo.haversine_km(Decimal("39.9042"), Decimal("116.4074"), *SHANGHAI)
    assert forward == pytest.approx(geo.haversine_km(*SHANGHAI, *BEIJING))


coordinates = st.tuples(st.floats(-90, 90), st.floats(-180, 180))


@given(coordinates, coordinates)
def test_distance_is_never_more_than_half_the_circumference(a, b):
    distance = geo.haversine_km(*a, *b)
    assert 0 <= distance <= math.pi * geo.EARTH_RADIUS_KM + 1e-9


# --- parsing --------------------------------------------------------------------------------
@pytest.mark.parametrize(("lat", "lng", "expected"), [
    ("31.2304", "121.4737", (31.2304, 121.4737)),
    (" -33.8688 ", "+151.2093", (-33.8688, 151.2093)),
    ("90", "-180", (90.0, -180.0)),
    ("-90", "180", (-90.0, 180.0)),
    ("0", "0", (0.0, 0.0)),
    ("3.12e1", ".5", (31.2, 0.5)),
    (Decimal("31.230400"), 121, (31.2304, 121.0)),
    (31.2304, 121.4737, (31.2304, 121.4737)),
])
def test_valid_points_parse(lat, lng, expected):
    assert geo.parse_point(lat, lng) == pytest.approx(expected)


@pytest.mark.parametrize("value", [
    None, "", "   ", "abc", "nan", "NaN", "inf", "-Infinity", "1e400", "1_0", "３１", "0x1F",
    "31,2", "31.2.3", "--1", "1e", "1" * 40, True, [31.2], {"lat": 1}, float("nan"),
    float("inf"),
])
def test_garbage_latitude_is_refused_with_a_field_error(value):
    with pytest.raises(ValidationFailed) as caught:
        geo.parse_point(value, "121.47")
    assert list(caught.value.field_errors) == ["lat"]
    assert "number of degrees" in caught.value.field_errors["lat"][0]


@pytest.mark.parametrize(("lat", "lng", "field"), [
    ("90.000001", "0", "lat"), ("-91", "0", "lat"), ("0", "180.5", "lng"),
    ("0", "-181", "lng"), ("1e3", "0", "lat"),
])
def test_out_of_range_coordinates_say_the_range(lat, lng, field):
    with pytest.raises(ValidationFailed) as caught:
        geo.parse_point(lat, lng)
    assert list(caught.value.field_errors) == [field]
    assert "between" in caught.value.field_errors[field][0]


def test_both_bad_fields_are_reported_together():
    with pytest.raises(ValidationFailed) as caught:
        geo.parse_point("north", "999")
    assert set(caught.value.field_errors) == {"lat", "lng"}


def test_field_names_can_be_the_forms_own():
    with pytest.raises(ValidationFailed) as caught:
        geo.parse_point("x", "0", lat_field="latitude", lng_field="longitude")
    assert list(caught.value.field_errors) == ["latitude"]


# --- nearest store --------------------------------------------------------------------------
def test_nearest_store_wins():
    stores = [store(1, *BEIJING), store(2, *SHANGHAI), store(3, 22.5431, 114.0579)]
    found = geo.nearest(31.22, 121.48, stores)
    assert found.store.pk == 2
    assert found.distance_km == pytest.approx(geo.haversine_km(31.22, 121.48, *SHANGHAI))
    assert [r.store.pk for r in geo.ranked(31.22, 121.48, stores)] == [2, 1, 3]


def test_ties_go_to_the_operators_order_then_the_id():
    same = SHANGHAI
    stores = [store(5, *same, order=2), store(3, *same, order=1), store(4, *same, order=1)]
    assert geo.nearest(*BEIJING, stores).store.pk == 3
    assert [r.store.pk for r in geo.ranked(*BEIJING, reversed(stores))] == [3, 4, 5]


def test_mirror_image_stores_tie_deterministically():
    # Exactly as far east as west of the customer: the order decides, not the input order.
    east, west = store(1, 0, 0.5, order=1), store(2, 0, -0.5, order=0)
    assert geo.nearest(0, 0, [east, west]).store.pk == 2
    assert geo.nearest(0, 0, [west, east]).store.pk == 2


def test_stores_without_coordinates_are_left_out():
    stores = [store(1, None, None), store(2, "31.0", None), store(3, None, "121.0"),
              store(4, *BEIJING)]
    assert [r.store.pk for r in geo.ranked(*SHANGHAI, stores)] == [4]


def test_no_store_with_coordinates_gives_none():
    assert geo.nearest(*SHANGHAI, []) is None
    assert geo.nearest(*SHANGHAI, [store(1, None, None)]) is None


def test_nearest_across_the_antimeridian():
    # Fiji at 179.9° E: the store at -179.9° is 22 km away; the one at 178° is 211 km.
    stores = [store(1, -17.0, 178.0), store(2, -17.0, -179.9)]
    assert geo.nearest(-17.0, 179.9, stores).store.pk == 2


def test_nearest_near_the_pole():
    stores = [store(1, 89.9, 0), store(2, 89.0, 180)]
    assert geo.nearest(89.95, 180, stores).store.pk == 1


def test_zero_coordinates_are_real_coordinates():
    # Null Island is a place, not "no coordinates".
    assert geo.nearest(0.1, 0.1, [store(1, 0, 0), store(2, 10, 10)]).store.pk == 1


# --- labels ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("km", "label"), [
    (0, "0 m"), (0.0042, "4 m"), (0.0996, "100 m"), (0.4537, "450 m"), (0.99, "990 m"),
    (0.9996, "1.0 km"), (1.234, "1.2 km"), (9.96, "10 km"), (12.4, "12 km"),
    (1234.5, "1,234 km"),
])
def test_distance_label(km, label):
    assert geo.distance_label(km) == label


# --- GCJ-02 ---------------------------------------------------------------------------------
# WGS-84 → GCJ-02 pairs published with the widely used open-source implementation.
PAIRS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]


@pytest.mark.parametrize(("wgs", "gcj"), PAIRS)
def test_wgs84_to_gcj02_matches_published_values(wgs, gcj):
    assert geo.wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-7)


@pytest.mark.parametrize(("wgs", "gcj"), PAIRS)
def test_gcj02_to_wgs84_is_accurate_to_centimetres(wgs, gcj):
    back = geo.gcj02_to_wgs84(*gcj)
    assert geo.haversine_km(*back, *wgs) < 0.00001


def test_the_gcj_offset_is_hundreds_of_metres_in_china():
    offset = geo.haversine_km(*PAIRS[2][0], *PAIRS[2][1])
    assert 0.1 < offset < 1.0


@pytest.mark.parametrize("point", [(51.5074, -0.1278), (-33.8688, 151.2093), (90, 0),
                                   (0, 180)])
def test_outside_china_both_systems_agree(point):
    assert geo.wgs84_to_gcj02(*point) == point
    assert geo.gcj02_to_wgs84(*point) == point


@given(st.floats(18, 53), st.floats(74, 134))
def test_gcj_round_trip_in_china(lat, lng):
    back = geo.gcj02_to_wgs84(*geo.wgs84_to_gcj02(lat, lng))
    assert geo.haversine_km(lat, lng, *back) < 0.00001
