"""The public landing page of a store code (no login): /s/<slug>/ asks for the customer's
location and shows the nearest store's code; without a location (denied, unsupported, timed
out, or no JavaScript) the customer picks a city, then a district.

Only an active code found by its unguessable slug is served, and only that code's own stores:
the page never shows another enterprise's data."""

from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from siyu.acquisition.stores import geo
from siyu.acquisition.stores.selectors import (
    cities_of,
    districts_of,
    nearest_store,
    serving_stores,
    store_code_by_slug,
    stores_in,
)
from siyu.acquisition.stores.services import store_code_count_view, store_count_shown_nearest
from siyu.core.errors import NotFound, ValidationFailed

# Next-nearest stores listed under the nearest one.
ALTERNATIVES = 2


def _not_found(request):
    return render(request, "acquisition/stores/public_404.html", status=404)


def _no_store(response):
    # Answers depend on the customer's location: never shared by caches.
    patch_cache_control(response, private=True, no_store=True)
    return response


def _card(ranked) -> dict:
    store = ranked.store
    return {"store": store, "distance": geo.distance_label(ranked.distance_km),
            "live_qr": store.live_code.qr_code
            if store.live_code and store.live_code.status == "active" else "",
            "group_qr": store.group_code.qr_code
            if store.group_code and store.group_code.status == "active" else ""}


def _plain_card(store) -> dict:
    return _card(geo.Ranked(store, 0.0)) | {"distance": ""}


def _fallback(store_code, city: str, district: str) -> dict:
    cities = cities_of(store_code)
    city = city if city in cities else ""
    districts = districts_of(store_code, city) if city else []
    district = district if district in districts else ""
    stores = [_plain_card(s) for s in stores_in(store_code, city, district)] if city else []
    return {"cities": cities, "city": city, "districts": districts, "district": district,
            "city_cards": stores}


@require_GET
def landing_view(request, slug):
    try:
        store_code = store_code_by_slug(slug)
    except NotFound:
        return _not_found(request)
    if "city" not in request.GET:  # the no-JavaScript city choice is the same visit
        store_code_count_view(store_code=store_code)
    context = {
        "code": store_code,
        "nearest_url": reverse("acquisition_public:nearest", args=[slug]),
        "stores_url": reverse("acquisition_public:stores", args=[slug]),
        "landing_url": reverse("acquisition_public:landing", args=[slug]),
        "has_coordinates": serving_stores(store_code).filter(latitude__isnull=False,
                                                             longitude__isnull=False).exists(),
        **_fallback(store_code, request.GET.get("city", ""), request.GET.get("district", "")),
    }
    return _no_store(render(request, "acquisition/stores/landing.html", context))


@require_GET
def nearest_view(request, slug):
    """The nearest store's card for ?lat=&lng= (WGS-84 degrees, as browsers report them)."""
    try:
        store_code = store_code_by_slug(slug)
    except NotFound:
        return _not_found(request)
    lat, lng = request.GET.get("lat"), request.GET.get("lng")
    try:
        ranked = nearest_store(store_code, lat, lng)
    except ValidationFailed as exc:
        return _no_store(render(request, "acquisition/stores/_landing_error.html",
                                {"messages_": [m for msgs in exc.field_errors.values()
                                               for m in msgs] or [exc.message],
                                 "title": _("We could not read your location.")},
                                status=400))
    if ranked is None:
        return _no_store(render(request, "acquisition/stores/_nearest.html", {"card": None}))
    store_count_shown_nearest(store=ranked.store)
    point = geo.parse_point(lat, lng)
    others = geo.ranked(*point, serving_stores(store_code))[1:1 + ALTERNATIVES]
    return _no_store(render(request, "acquisition/stores/_nearest.html",
                            {"card": _card(ranked), "others": [_card(r) for r in others]}))


@require_GET
def stores_view(request, slug):
    """The city/district picker and the stores there (the fallback without a location)."""
    try:
        store_code = store_code_by_slug(slug)
    except NotFound:
        return _not_found(request)
    context = {"code": store_code,
               "landing_url": reverse("acquisition_public:landing", args=[slug]),
               **_fallback(store_code, request.GET.get("city", ""),
                           request.GET.get("district", ""))}
    return _no_store(render(request, "acquisition/stores/_fallback.html", context))
