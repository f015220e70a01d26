"""Writes for store live codes (B4). A store code is a named set of stores behind one public
landing page; each store serves its employees through a channel live code and its groups
through a group live code, created, updated and disabled here through those codes' own
services (which talk to WeCom), so Store.live_code / Store.group_code always say what the
landing page should show.

Everything is validated before anything is written. WeCom calls happen outside any
transaction (as in the live code services); if a later step fails, the codes this call
created are discarded and the codes it changed are put back, so a failed call leaves neither
stores nor live codes behind."""

import logging
import re
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Max
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from siyu.accounts.models import Employee
from siyu.accounts.scoping import require
from siyu.acquisition.live_codes import services as live_code_services
from siyu.acquisition.live_codes.services import creator_of, invalid
from siyu.acquisition.models import GroupCode, LiveCode, Store, StoreCode
from siyu.acquisition.stores import geo
from siyu.core.audit import audit_record, diff
from siyu.core.errors import Conflict, ValidationFailed
from siyu.groups.models import CustomerGroup

log = logging.getLogger(__name__)

PERMISSION = "acquisition.manage"
NAME_MAX = 64
CODE_NAME_MAX = 64
COORDINATE_SYSTEMS = ("wgs84", "gcj02")
_PHONE = re.compile(r"[0-9+\-() ]{3,32}", re.ASCII)


def _text(value, field, *, limit, required=True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise invalid(field, _("Required."))
    if len(value) > limit:
        raise invalid(field, _("At most %(n)d characters.") % {"n": limit})
    return value


def _require_same_corp(corp, obj):
    if obj.corp_id != corp.pk:
        raise Conflict(_("This store code belongs to another enterprise."))


# --- store codes ----------------------------------------------------------------------------
def store_code_create(*, corp, actor, name) -> StoreCode:
    require(actor, PERMISSION)
    name = _text(name, "name", limit=NAME_MAX)
    with transaction.atomic():
        store_code = StoreCode.objects.create(
            corp=corp, name=name, created_by=creator_of(actor))
        audit_record(corp=corp, actor=actor, action="store_code.create", obj=store_code,
                     changes={"name": [None, name], "slug": [None, store_code.slug]})
    return store_code


def store_code_update(*, corp, actor, store_code: StoreCode, name) -> StoreCode:
    """Renames the code; its stores' live codes are renamed with it ("<code> · <store>")."""
    require(actor, PERMISSION)
    _require_same_corp(corp, store_code)
    _require_active(store_code)
    name = _text(name, "name", limit=NAME_MAX)
    if name == store_code.name:
        return store_code
    before = store_code.name
    stores = list(Store.objects.for_corp(corp).filter(store_code=store_code)
                  .prefetch_related("employees", "groups"))
    undo = _Undo()
    try:
        for store in stores:
            _sync_codes(corp, actor, store, code_name=_code_name(name, store.name),
                        employees=list(store.employees.all()),
                        groups=list(store.groups.all()), undo=undo)
        with transaction.atomic():
            store_code.name = name
            store_code.save(update_fields=["name", "updated_at"])
            for store in stores:
                store.save(update_fields=["live_code", "group_code", "updated_at"])
            audit_record(corp=corp, actor=actor, action="store_code.update", obj=store_code,
                         changes={"name": [before, name]})
    except Exception:
        undo.run()
        raise
    return store_code


def store_code_disable(*, corp, actor, store_code: StoreCode) -> StoreCode:
    """The landing page answers 404 from now on and every store's codes stop working."""
    require(actor, PERMISSION)
    _require_same_corp(corp, store_code)
    if store_code.status == StoreCode.Status.DISABLED:
        return store_code
    for store in Store.objects.for_corp(corp).filter(store_code=store_code):
        _disable_codes(corp, actor, store)
    with transaction.atomic():
        store_code.status = StoreCode.Status.DISABLED
        store_code.save(update_fields=["status", "updated_at"])
        audit_record(corp=corp, actor=actor, action="store_code.disable", obj=store_code,
                     changes={"status": [StoreCode.Status.ACTIVE, StoreCode.Status.DISABLED]})
    return store_code


def _require_active(store_code):
    if store_code.status != StoreCode.Status.ACTIVE:
        raise Conflict(_("This store code is disabled; its stores cannot be changed."))


# --- stores ---------------------------------------------------------------------------------
@dataclass
class _CleanStore:
    fields: dict
    employees: list
    groups: list


def _quantized(value: float) -> Decimal:
    return Decimal(f"{value:.6f}")


def _clean_coordinates(latitude, longitude, coordinate_system) -> tuple:
    blank = [v is None or (isinstance(v, str) and not v.strip()) for v in (latitude, longitude)]
    if all(blank):
        return None, None
    if any(blank):
        field = "latitude" if blank[0] else "longitude"
        raise invalid(field, _("Give both latitude and longitude, or neither."))
    if coordinate_system not in COORDINATE_SYSTEMS:
        raise invalid("coordinate_system",
                       _("Choose WGS-84 (GPS) or GCJ-02 (Amap/Tencent maps)."))
    lat, lng = geo.parse_point(latitude, longitude, lat_field="latitude",
                               lng_field="longitude")
    if coordinate_system == "gcj02":
        lat, lng = geo.gcj02_to_wgs84(lat, lng)
    return _quantized(lat), _quantized(lng)


def _clean_people(corp, employee_ids, group_ids) -> tuple[list, list]:
    employee_ids = list(dict.fromkeys(int(i) for i in employee_ids or ()))
    group_ids = list(dict.fromkeys(int(i) for i in group_ids or ()))
    if not employee_ids and not group_ids:
        raise invalid("employees", _("Choose at least one employee or one group: the "
                                      "landing page shows their code."))
    employees = list(Employee.objects.for_corp(corp).filter(pk__in=employee_ids)
                     .order_by("name", "id"))
    if len(employees) != len(employee_ids):
        raise invalid("employees", _("A chosen employee does not exist; reload the page and "
                                      "choose again."))
    for employee in employees:
        if not employee.is_active:
            raise invalid("employees", _("%(name)s has resigned; choose an active employee.")
                           % {"name": employee.name})
    groups = list(CustomerGroup.objects.for_corp(corp).filter(pk__in=group_ids))
    if len(groups) != len(group_ids):
        raise invalid("groups", _("A chosen group does not exist; reload the page and choose "
                                   "again."))
    for group in groups:
        if group.status != CustomerGroup.Status.ACTIVE:
            raise invalid("groups", _("The group %(name)s has been dismissed; choose an "
                                       "active group.") % {"name": str(group)})
    # Keep the operator's order of groups: a group code fills them in that order.
    groups.sort(key=lambda g: group_ids.index(g.pk))
    return employees, groups


def _clean_store(corp, store_code, *, name, city, address, province, district, latitude,
                 longitude, coordinate_system, phone, employee_ids, group_ids, order,
                 store=None) -> _CleanStore:
    try:
        employee_ids = [int(i) for i in employee_ids or ()]
        group_ids = [int(i) for i in group_ids or ()]
    except (TypeError, ValueError):
        raise invalid("employees", _("Choose employees and groups from the lists.")) from None
    name = _text(name, "name", limit=NAME_MAX)
    clash = (Store.objects.for_corp(corp).filter(store_code=store_code)
             .annotate(lower=Lower("name")).filter(lower=name.lower()))
    if store is not None:
        clash = clash.exclude(pk=store.pk)
    if clash.exists():
        raise invalid("name", _("Another store of this code is already called %(name)s.")
                       % {"name": name})
    fields = {
        "name": name,
        "province": _text(province, "province", limit=32, required=False),
        "city": _text(city, "city", limit=32),
        "district": _text(district, "district", limit=32, required=False),
        "address": _text(address, "address", limit=200),
        "phone": _text(phone, "phone", limit=32, required=False),
    }
    if fields["phone"] and not _PHONE.fullmatch(fields["phone"]):
        raise invalid("phone", _("Use digits, spaces, +, - and brackets only, for example "
                                  "021-6123 4567."))
    fields["latitude"], fields["longitude"] = _clean_coordinates(latitude, longitude,
                                                                 coordinate_system)
    if order in (None, ""):
        fields["order"] = None
    else:
        try:
            fields["order"] = int(order)
        except (TypeError, ValueError):
            raise invalid("order", _("Give the order as a whole number.")) from None
    employees, groups = _clean_people(corp, employee_ids, group_ids)
    return _CleanStore(fields, employees, groups)


def _code_name(store_code_name: str, store_name: str) -> str:
    name = f"{store_code_name} · {store_name}"
    return name if len(name) <= CODE_NAME_MAX else name[: CODE_NAME_MAX - 1] + "…"


class _Undo:
    """Compensations for WeCom-side changes already made, run newest first on failure."""

    def __init__(self):
        self.steps = []

    def add(self, step):
        self.steps.append(step)

    def run(self):
        for step in reversed(self.steps):
            try:
                step()
            except Exception:
                # A failed undo must not hide the original error; it is logged instead.
                log.exception("Could not undo a WeCom change for a store.")


def _as_field(exc: ValidationFailed, field: str) -> ValidationFailed:
    """A refusal by the live/group code service, reported on the store form's own field."""
    messages = [m for msgs in exc.field_errors.values() for m in msgs] or [exc.message]
    return ValidationFailed(_("Check the highlighted fields."), field_errors={field: messages})


def _members(employees) -> list[dict]:
    return [{"employee_id": e.pk, "order": i} for i, e in enumerate(employees)]


def _sync_live_code(corp, actor, store, code_name, employees, undo):
    current = store.live_code
    if current is not None and current.status != LiveCode.Status.ACTIVE:
        current = None
    if not employees:
        store.live_code = current
        return
    try:
        if current is None:
            created = live_code_services.live_code_create(
                corp=corp, actor=actor, name=code_name, mode=LiveCode.Mode.RANDOM,
                members=_members(employees))
            undo.add(lambda: _discard_live_code(corp, actor, created))
            store.live_code = created
            return
        previous = {"name": current.name, "mode": current.mode,
                    "members": [{"employee_id": m.employee_id, "department_id":
                                 m.department_id, "daily_cap": m.daily_cap,
                                 "is_backup": m.is_backup, "order": m.order}
                                for m in current.members.all()],
                    "skip_verify": current.skip_verify,
                    "tag_ids": list(current.tags.values_list("pk", flat=True)),
                    "welcome_text": current.welcome_text,
                    "welcome_attachments": current.welcome_attachments,
                    "expires_at": current.expires_at}
        # The operator may have set tags or a welcome on the live code's own page: keep them.
        live_code_services.live_code_update(
            corp=corp, actor=actor, live_code=current, name=code_name,
            mode=LiveCode.Mode.RANDOM, members=_members(employees),
            skip_verify=previous["skip_verify"], tag_ids=previous["tag_ids"],
            welcome_text=previous["welcome_text"],
            welcome_attachments=previous["welcome_attachments"],
            expires_at=previous["expires_at"])
        undo.add(lambda: live_code_services.live_code_update(
            corp=corp, actor=actor, live_code=current, **previous))
        store.live_code = current
    except ValidationFailed as exc:
        raise _as_field(exc, "employees") from exc


def _sync_group_code(corp, actor, store, code_name, groups, undo):
    current = store.group_code
    if current is not None and current.status != GroupCode.Status.ACTIVE:
        current = None
    if not groups:
        store.group_code = current
        return
    # Imported here: group live codes are a sibling feature with their own module.
    from siyu.acquisition.group_codes import services as group_code_services

    group_ids = [g.pk for g in groups]
    try:
        if current is None:
            created = group_code_services.group_code_create(
                corp=corp, actor=actor, name=code_name, group_ids=group_ids)
            undo.add(lambda: _discard_group_code(corp, actor, created))
            store.group_code = created
            return
        previous = {"name": current.name,
                    "group_ids": list(current.entries.order_by("order", "id")
                                      .values_list("group_id", flat=True)),
                    "member_limit": current.member_limit,
                    "auto_create_room": current.auto_create_room,
                    "room_base_name": current.room_base_name,
                    "room_base_id": current.room_base_id,
                    "welcome_text": current.welcome_text,
                    "welcome_attachment": current.welcome_attachment,
                    "expires_at": current.expires_at}
        group_code_services.group_code_update(
            corp=corp, actor=actor, group_code=current,
            **(previous | {"name": code_name, "group_ids": group_ids}))
        undo.add(lambda: group_code_services.group_code_update(
            corp=corp, actor=actor, group_code=current, **previous))
        store.group_code = current
    except ValidationFailed as exc:
        raise _as_field(exc, "groups") from exc


def _sync_codes(corp, actor, store, *, code_name, employees, groups, undo):
    """Create or update the codes the store needs, then disable the ones it no longer
    needs (last: a disabled contact way cannot be brought back)."""
    old_live, old_group = store.live_code, store.group_code
    _sync_live_code(corp, actor, store, code_name, employees, undo)
    _sync_group_code(corp, actor, store, code_name, groups, undo)
    if not employees and old_live is not None:
        if old_live.status == LiveCode.Status.ACTIVE:
            live_code_services.live_code_disable(corp=corp, actor=actor, live_code=old_live)
        store.live_code = None
    if not groups and old_group is not None:
        if old_group.status == GroupCode.Status.ACTIVE:
            _group_code_disable(corp, actor, old_group)
        store.group_code = None


def _group_code_disable(corp, actor, group_code):
    from siyu.acquisition.group_codes import services as group_code_services

    group_code_services.group_code_disable(corp=corp, actor=actor, group_code=group_code)


def _discard_live_code(corp, actor, live_code):
    """Undo a live code created by a call that then failed: WeCom's contact way goes, and so
    does the row (it never served a customer)."""
    live_code_services.live_code_disable(corp=corp, actor=actor, live_code=live_code)
    LiveCode.objects.for_corp(corp).filter(pk=live_code.pk).delete()


def _discard_group_code(corp, actor, group_code):
    _group_code_disable(corp, actor, group_code)
    GroupCode.objects.for_corp(corp).filter(pk=group_code.pk).delete()


def _disable_codes(corp, actor, store):
    if store.live_code is not None and store.live_code.status == LiveCode.Status.ACTIVE:
        live_code_services.live_code_disable(corp=corp, actor=actor, live_code=store.live_code)
    if store.group_code is not None and store.group_code.status == GroupCode.Status.ACTIVE:
        _group_code_disable(corp, actor, store.group_code)


def _snapshot(store) -> dict:
    return {"name": store.name, "province": store.province, "city": store.city,
            "district": store.district, "address": store.address,
            "latitude": store.latitude, "longitude": store.longitude, "phone": store.phone,
            "order": store.order, "live_code": store.live_code_id,
            "group_code": store.group_code_id}


def _people_snapshot(employees, groups) -> dict:
    return {"employees": sorted(e.pk for e in employees),
            "groups": [g.pk for g in groups]}


def store_create(*, corp, actor, store_code: StoreCode, name, city, address, province="",
                 district="", latitude=None, longitude=None, coordinate_system="wgs84",
                 phone="", employee_ids=(), group_ids=(), order=None) -> Store:
    require(actor, PERMISSION)
    _require_same_corp(corp, store_code)
    _require_active(store_code)
    clean = _clean_store(corp, store_code, name=name, city=city, address=address,
                         province=province, district=district, latitude=latitude,
                         longitude=longitude, coordinate_system=coordinate_system,
                         phone=phone, employee_ids=employee_ids, group_ids=group_ids,
                         order=order)
    if clean.fields["order"] is None:
        last = (Store.objects.for_corp(corp).filter(store_code=store_code)
                .aggregate(last=Max("order"))["last"])
        clean.fields["order"] = 0 if last is None else last + 1
    store = Store(corp=corp, store_code=store_code, **clean.fields)
    undo = _Undo()
    try:
        _sync_codes(corp, actor, store, code_name=_code_name(store_code.name, store.name),
                    employees=clean.employees, groups=clean.groups, undo=undo)
        with transaction.atomic():
            store.save()
            store.employees.set(clean.employees)
            store.groups.set(clean.groups)
            audit_record(corp=corp, actor=actor, action="store.create", obj=store,
                         changes={k: [None, v] for k, v in
                                  (_snapshot(store)
                                   | _people_snapshot(clean.employees, clean.groups)).items()})
    except Exception:
        undo.run()
        raise
    return store


def store_update(*, corp, actor, store: Store, name, city, address, province="", district="",
                 latitude=None, longitude=None, coordinate_system="wgs84", phone="",
                 employee_ids=(), group_ids=(), order=None) -> Store:
    require(actor, PERMISSION)
    _require_same_corp(corp, store)
    store_code = store.store_code
    _require_active(store_code)
    clean = _clean_store(corp, store_code, name=name, city=city, address=address,
                         province=province, district=district, latitude=latitude,
                         longitude=longitude, coordinate_system=coordinate_system,
                         phone=phone, employee_ids=employee_ids, group_ids=group_ids,
                         order=order, store=store)
    if clean.fields["order"] is None:
        clean.fields["order"] = store.order
    before = _snapshot(store) | _people_snapshot(store.employees.all(), store.groups.all())
    for key, value in clean.fields.items():
        setattr(store, key, value)
    undo = _Undo()
    try:
        _sync_codes(corp, actor, store, code_name=_code_name(store_code.name, store.name),
                    employees=clean.employees, groups=clean.groups, undo=undo)
        with transaction.atomic():
            store.save()
            store.employees.set(clean.employees)
            store.groups.set(clean.groups)
            audit_record(corp=corp, actor=actor, action="store.update", obj=store,
                         changes=diff(before, _snapshot(store)
                                      | _people_snapshot(clean.employees, clean.groups)))
    except Exception:
        undo.run()
        store.refresh_from_db()
        raise
    return store


def store_delete(*, corp, actor, store: Store) -> None:
    """Removes the store from the landing page and disables its codes (their rows stay for
    attribution and statistics)."""
    require(actor, PERMISSION)
    _require_same_corp(corp, store)
    _disable_codes(corp, actor, store)
    with transaction.atomic():
        audit_record(corp=corp, actor=actor, action="store.delete", obj=store,
                     changes={k: [v, None] for k, v in _snapshot(store).items()})
        store.delete()


# --- landing page counters (system actions of the public page: no actor, no audit) ----------
def store_code_count_view(*, store_code: StoreCode) -> None:
    StoreCode.objects.for_corp(store_code.corp_id).filter(pk=store_code.pk).update(
        landing_views=F("landing_views") + 1)


def store_count_shown_nearest(*, store: Store) -> None:
    Store.objects.for_corp(store.corp_id).filter(pk=store.pk).update(
        shown_nearest=F("shown_nearest") + 1)
