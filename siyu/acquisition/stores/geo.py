"""Geometry for store live codes: great-circle distance (haversine), safe parsing of the
coordinates a browser or a form sends, the nearest store, and the WGS-84 ↔ GCJ-02 conversion.

Browsers' geolocation reports WGS-84; Chinese map apps (Amap/Gaode, Tencent maps) show GCJ-02,
which is offset by a few hundred metres. Stores are kept in WGS-84; coordinates copied from those
apps are converted with :func:`gcj02_to_wgs84` when the operator says where they came from.
Nothing here touches the database."""

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from siyu.core.errors import ValidationFailed

# Mean Earth radius (IUGG R1) in km.
EARTH_RADIUS_KM = 6371.0088

# Plain ASCII decimal numbers only: float() would also take "nan", "inf", "1_0" and
# full-width digits, none of which a browser or a form should send.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?", re.ASCII)
_NUMBER_MAX_LENGTH = 32


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance on a sphere of the mean Earth radius. Longitudes may lie on
    either side of the antimeridian (179.9 and -179.9 are 22 km apart, not 40,000)."""
    lat1, lng1, lat2, lng2 = float(lat1), float(lng1), float(lat2), float(lng2)
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lng2 - lng1)
    a = (math.sin(d_phi / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2)
    # Rounding can push a a hair outside [0, 1] near antipodes; sqrt(1 - a) would then fail.
    a = min(1.0, max(0.0, a))
    return 2 * EARTH_RADIUS_KM * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def _coordinate(value, *, field: str, low: float, high: float, label: str) -> float:
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float | Decimal):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        number = (float(text) if len(text) <= _NUMBER_MAX_LENGTH and _NUMBER.fullmatch(text)
                  else None)
    else:
        number = None
    if number is None or not math.isfinite(number):
        raise ValidationFailed(
            _("The location is not valid."),
            field_errors={field: [_("Give the %(label)s as a number of degrees, for example "
                                    "%(example)s.") % {"label": label,
                                                       "example": "31.2304"}]})
    if not low <= number <= high:
        raise ValidationFailed(
            _("The location is not valid."),
            field_errors={field: [_("The %(label)s must be between %(low)s and %(high)s "
                                    "degrees.") % {"label": label, "low": f"{low:g}",
                                                   "high": f"{high:g}"}]})
    return number


def parse_latitude(value, field: str = "lat") -> float:
    return _coordinate(value, field=field, low=-90.0, high=90.0, label=_("latitude"))


def parse_longitude(value, field: str = "lng") -> float:
    return _coordinate(value, field=field, low=-180.0, high=180.0, label=_("longitude"))


def parse_point(lat, lng, *, lat_field: str = "lat", lng_field: str = "lng"):
    """(latitude, longitude) as floats, or ValidationFailed naming every bad field."""
    errors = {}
    point = []
    for parse, value, field in ((parse_latitude, lat, lat_field),
                                (parse_longitude, lng, lng_field)):
        try:
            point.append(parse(value, field))
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if errors:
        raise ValidationFailed(_("The location is not valid."), field_errors=errors)
    return point[0], point[1]


@dataclass(frozen=True)
class Ranked:
    store: object
    distance_km: float


def ranked(lat: float, lng: float, stores) -> list[Ranked]:
    """Stores with coordinates, nearest first; equal distances in the operator's order,
    then by id, so the same location always gets the same store."""
    found = [Ranked(store, haversine_km(lat, lng, float(store.latitude),
                                        float(store.longitude)))
             for store in stores
             if store.latitude is not None and store.longitude is not None]
    found.sort(key=lambda r: (r.distance_km, r.store.order, r.store.pk))
    return found


def nearest(lat: float, lng: float, stores) -> Ranked | None:
    found = ranked(lat, lng, stores)
    return found[0] if found else None


def distance_label(km: float) -> str:
    """"8 m", "950 m", "1.2 km", "23 km": metres (to ten from 100 m) under one kilometre,
    one decimal under ten kilometres."""
    metres = round(km * 1000)
    if metres >= 100:
        metres = round(metres / 10) * 10
    if metres < 1000:
        return _("%(metres)d m") % {"metres": metres}
    if km < 9.95:
        return _("%(km)s km") % {"km": f"{km:.1f}"}
    return _("%(km)s km") % {"km": f"{round(km):,}"}


# --- WGS-84 ↔ GCJ-02 -----------------------------------------------------------------------
# The published GCJ-02 obfuscation (Krasovsky ellipsoid and a sum of sines). It applies inside
# mainland China only; elsewhere both systems agree.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323


def outside_china(lat: float, lng: float) -> bool:
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _gcj_offset(lat: float, lng: float) -> tuple[float, float]:
    x, y = lng - 105.0, lat - 35.0
    waves = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
             + waves
             + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
             + (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0))
             * 2 / 3)
    d_lng = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
             + waves
             + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
             + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi))
             * 2 / 3)
    rad_lat = math.radians(lat)
    magic = 1 - _KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic)
                               * math.pi)
    d_lng = (d_lng * 180.0) / (_KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lat, d_lng


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if outside_china(lat, lng):
        return lat, lng
    d_lat, d_lng = _gcj_offset(lat, lng)
    return lat + d_lat, lng + d_lng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """Inverse by fixed-point iteration: the offset changes slowly, so a few rounds bring the
    round trip under a centimetre."""
    if outside_china(lat, lng):
        return lat, lng
    wgs_lat, wgs_lng = lat, lng
    for _round in range(10):
        gcj_lat, gcj_lng = wgs84_to_gcj02(wgs_lat, wgs_lng)
        err_lat, err_lng = gcj_lat - lat, gcj_lng - lng
        wgs_lat, wgs_lng = wgs_lat - err_lat, wgs_lng - err_lng
        if abs(err_lat) < 1e-10 and abs(err_lng) < 1e-10:
            break
    return wgs_lat, wgs_lng
