"""Reads for store live codes.

Console: admins and managers (``acquisition.manage``) see every store code of their
enterprise; anyone else sees the store codes with a store they serve as an employee.
Public (the landing page, no login): only an active code found by its unguessable slug, and
only that code's own stores — never anything of another enterprise."""

from django.db.models import Q

from siyu.acquisition.models import GroupCode, LiveCode, Store, StoreCode
from siyu.acquisition.stores import geo
from siyu.core.errors import NotFound, PermissionDenied

MANAGE = "acquisition.manage"


def _signed_in(actor):
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.corp_id:
        raise PermissionDenied("Sign in with a user of an enterprise to do this.")


def store_codes_for(actor):
    _signed_in(actor)
    codes = StoreCode.objects.for_corp(actor.corp_id)
    if actor.has_siyu_perm(MANAGE):
        return codes
    if actor.employee_id is None:
        return codes.none()
    serving = (Store.objects.for_corp(actor.corp_id)
               .filter(employees__id=actor.employee_id).values("store_code_id"))
    return codes.filter(pk__in=serving)


def store_code_get_for(actor, store_code_id) -> StoreCode:
    code = store_codes_for(actor).filter(pk=store_code_id).first()
    if code is None:
        raise NotFound("This store code does not exist, or it is outside what your role can "
                       "see.")
    return code


def stores_of(store_code: StoreCode):
    """Every store of a code the caller already holds (from an access helper or a slug)."""
    return (Store.objects.for_corp(store_code.corp_id).filter(store_code=store_code)
            .select_related("live_code", "group_code")
            .prefetch_related("employees", "groups"))


def store_get_for(actor, store_code: StoreCode, store_id) -> Store:
    """A store of a code already obtained through :func:`store_code_get_for`."""
    try:
        store_id = int(store_id)
    except (TypeError, ValueError):
        store_id = None
    store = stores_of(store_code).filter(pk=store_id).first() if store_id else None
    if store is None:
        raise NotFound("This store does not exist in this store code.")
    return store


# --- public ---------------------------------------------------------------------------------
def store_code_by_slug(slug) -> StoreCode:
    """The active store code behind a landing page URL. The slug is the only key: it is
    unique across enterprises, so no corp is needed (and none can be guessed)."""
    if not isinstance(slug, str) or not 1 <= len(slug) <= 32:
        raise NotFound("No such store code.")
    code = (StoreCode.objects.unscoped().select_related("corp")
            .filter(slug=slug, status=StoreCode.Status.ACTIVE).first())
    if code is None:
        raise NotFound("No such store code.")
    return code


def serving_stores(store_code: StoreCode):
    """Stores the landing page may show: those with a working channel or group code."""
    return stores_of(store_code).filter(
        Q(live_code__status=LiveCode.Status.ACTIVE)
        | Q(group_code__status=GroupCode.Status.ACTIVE))


def nearest_store(store_code: StoreCode, lat, lng) -> geo.Ranked | None:
    """The serving store nearest to (lat, lng) with its distance, or None when no serving
    store has coordinates. Raises ValidationFailed (fields "lat"/"lng") on bad input."""
    lat, lng = geo.parse_point(lat, lng)
    return geo.nearest(lat, lng, serving_stores(store_code))


def cities_of(store_code: StoreCode) -> list[str]:
    return sorted(set(serving_stores(store_code).values_list("city", flat=True)))


def districts_of(store_code: StoreCode, city: str) -> list[str]:
    return sorted(set(serving_stores(store_code).filter(city=city)
                      .exclude(district="").values_list("district", flat=True)))


def stores_in(store_code: StoreCode, city: str, district: str = ""):
    stores = serving_stores(store_code).filter(city=city)
    if district:
        stores = stores.filter(district=district)
    return stores
