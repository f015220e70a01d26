"""Store code writes against the WeCom simulator over HTTP: each store's employees get a
channel live code (a contact way), kept in step on edit, rename, delete and disable; bad input
names the field and writes nothing, locally or in WeCom; a failure half-way leaves nothing."""

from decimal import Decimal

import pytest

from siyu.accounts.tests.factories import CorpFactory, EmployeeFactory, UserFactory
from siyu.acquisition.live_codes.services import live_code_disable, live_code_update
from siyu.acquisition.models import LiveCode, Store, StoreCode
from siyu.acquisition.stores import geo
from siyu.acquisition.stores import services as store_services
from siyu.acquisition.stores.services import (
    store_code_create,
    store_code_disable,
    store_code_update,
    store_create,
    store_delete,
    store_update,
)
from siyu.core.errors import Conflict, PermissionDenied, ValidationFailed
from siyu.core.models import AuditLog
from siyu.customers.tests.factories import TagFactory
from siyu.groups.models import CustomerGroup
from siyu.wecom.simulator.testing import running_simulator
from tests.fixtures import corp_on_simulator


@pytest.fixture(scope="module")
def sim():
    with running_simulator(seed=11, employees=4, customers=0, groups=0) as running:
        yield running


@pytest.fixture
def corp(db, sim, settings):
    return corp_on_simulator(sim, settings)


@pytest.fixture
def people(corp, sim):
    userids = [u["userid"] for u in sim.control.population()["users"]][:3]
    return [EmployeeFactory(corp=corp, userid=u, name=f"店员{i}")
            for i, u in enumerate(userids)]


@pytest.fixture
def admin(corp):
    return UserFactory(corp=corp, role="admin")


@pytest.fixture
def code(corp, admin):
    return store_code_create(corp=corp, actor=admin, name="门店活码")


def ways(sim) -> dict:
    return {w["config_id"]: w for w in sim.control.contact_ways()["contact_ways"]}


def add_store(corp, admin, code, people, **overrides):
    options = {"name": "静安店", "city": "上海市", "district": "静安区",
               "address": "南京西路 1266 号", "latitude": "31.2304", "longitude": "121.4737",
               "phone": "021-6123 4567", "employee_ids": [people[0].pk, people[1].pk]}
    return store_create(corp=corp, actor=admin, store_code=code, **(options | overrides))


def test_store_code_create_is_audited_with_an_unguessable_slug(corp, admin, code):
    other = store_code_create(corp=corp, actor=admin, name="Second")
    assert code.status == StoreCode.Status.ACTIVE
    assert len(code.slug) >= 12 and code.slug != other.slug
    assert AuditLog.objects.for_corp(corp).filter(action="store_code.create").count() == 2


def test_store_code_name_is_required(corp, admin):
    with pytest.raises(ValidationFailed) as caught:
        store_code_create(corp=corp, actor=admin, name="  ")
    assert "name" in caught.value.field_errors
    assert not StoreCode.objects.for_corp(corp).exists()


def test_store_gets_a_random_live_code_for_its_employees(corp, admin, code, people, sim):
    store = add_store(corp, admin, code, people)
    live = store.live_code
    assert live.mode == LiveCode.Mode.RANDOM and live.name == "门店活码 · 静安店"
    way = ways(sim)[live.wecom_config_id]
    assert sorted(way["user"]) == sorted([people[0].userid, people[1].userid])
    assert way["state"] == live.state and live.qr_code
    assert store.group_code is None
    store.refresh_from_db()
    assert store.latitude == Decimal("31.230400") and store.longitude == Decimal("121.473700")
    assert sorted(store.employees.values_list("pk", flat=True)) == [people[0].pk, people[1].pk]
    assert store.order == 0
    assert add_store(corp, admin, code, people, name="徐汇店").order == 1
    audit = AuditLog.objects.for_corp(corp).get(action="store.create", object_id=str(store.pk))
    assert audit.changes["employees"] == [None, sorted([people[0].pk, people[1].pk])]


def test_store_without_coordinates_is_allowed(corp, admin, code, people):
    store = add_store(corp, admin, code, people, latitude="", longitude=None)
    store.refresh_from_db()
    assert store.latitude is None and store.longitude is None


def test_gcj02_coordinates_are_stored_as_wgs84(corp, admin, code, people):
    gcj = (31.17530398364597, 121.531541859215)
    store = add_store(corp, admin, code, people, latitude=str(gcj[0]), longitude=str(gcj[1]),
                      coordinate_system="gcj02")
    store.refresh_from_db()
    assert float(store.latitude) == pytest.approx(31.1774276, abs=2e-6)
    assert float(store.longitude) == pytest.approx(121.5272106, abs=2e-6)
    assert geo.haversine_km(store.latitude, store.longitude, 31.1774276, 121.5272106) < 0.001


def _bad_inputs(people, stranger, resigned, foreign_group, dismissed):
    return [
        ({"name": ""}, "name"),
        ({"name": "店" * 65}, "name"),
        ({"city": " "}, "city"),
        ({"address": ""}, "address"),
        ({"address": "路" * 201}, "address"),
        ({"district": "区" * 33}, "district"),
        ({"latitude": "31.2", "longitude": ""}, "longitude"),
        ({"latitude": None, "longitude": "121.4"}, "latitude"),
        ({"latitude": "north"}, "latitude"),
        ({"latitude": "nan"}, "latitude"),
        ({"latitude": "91"}, "latitude"),
        ({"longitude": "-180.5"}, "longitude"),
        ({"longitude": "1e999"}, "longitude"),
        ({"coordinate_system": "bd09"}, "coordinate_system"),
        ({"phone": "call me"}, "phone"),
        ({"order": "first"}, "order"),
        ({"employee_ids": [], "group_ids": []}, "employees"),
        ({"employee_ids": [stranger.pk]}, "employees"),
        ({"employee_ids": [resigned.pk]}, "employees"),
        ({"employee_ids": ["abc"]}, "employees"),
        ({"employee_ids": [], "group_ids": [foreign_group.pk]}, "groups"),
        ({"employee_ids": [], "group_ids": [dismissed.pk]}, "groups"),
    ]


def test_bad_input_names_the_field_and_writes_nothing(corp, admin, code, people, sim):
    other = CorpFactory()
    stranger = EmployeeFactory(corp=other)
    resigned = EmployeeFactory(corp=corp, status="resigned")
    foreign_group = CustomerGroup.objects.create(corp=other, chat_id="wr_foreign", name="外")
    dismissed = CustomerGroup.objects.create(corp=corp, chat_id="wr_gone", name="散",
                                             status=CustomerGroup.Status.DISMISSED)
    before = set(ways(sim))
    for overrides, field in _bad_inputs(people, stranger, resigned, foreign_group, dismissed):
        with pytest.raises(ValidationFailed) as caught:
            add_store(corp, admin, code, people, **overrides)
        assert field in caught.value.field_errors, (overrides, caught.value.field_errors)
    assert not Store.objects.for_corp(corp).exists()
    assert not LiveCode.objects.for_corp(corp).exists()
    assert set(ways(sim)) == before


def test_duplicate_store_name_in_the_same_code_is_refused(corp, admin, code, people):
    add_store(corp, admin, code, people, name="Jing'an")
    with pytest.raises(ValidationFailed) as caught:
        add_store(corp, admin, code, people, name="JING'AN")
    assert "already called" in caught.value.field_errors["name"][0]
    other_code = store_code_create(corp=corp, actor=admin, name="Other")
    add_store(corp, admin, other_code, people, name="Jing'an")  # another code: fine


def test_wecom_refusal_writes_nothing(corp, admin, code, people, sim):
    ghost = EmployeeFactory(corp=corp, userid="not_in_wecom")
    before = set(ways(sim))
    with pytest.raises(Conflict):
        add_store(corp, admin, code, people, employee_ids=[ghost.pk])
    assert not Store.objects.for_corp(corp).exists()
    assert not LiveCode.objects.for_corp(corp).exists()
    assert set(ways(sim)) == before


def test_failure_after_the_live_code_was_created_discards_it(corp, admin, code, people, sim,
                                                             monkeypatch):
    before = set(ways(sim))

    def broken_audit(**kwargs):
        if kwargs["action"] == "store.create":
            raise RuntimeError("disk full")
        return real_audit(**kwargs)

    real_audit = store_services.audit_record
    monkeypatch.setattr(store_services, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        add_store(corp, admin, code, people)
    assert not Store.objects.for_corp(corp).exists()
    assert not LiveCode.objects.for_corp(corp).exists()
    assert set(ways(sim)) == before


def test_failure_of_the_group_step_discards_the_new_live_code(corp, admin, code, people, sim,
                                                               monkeypatch):
    before = set(ways(sim))

    def refuse(*args, **kwargs):
        raise ValidationFailed("no", field_errors={"group_ids": ["WeCom refused the group."]})

    monkeypatch.setattr(store_services, "_sync_group_code", refuse)
    with pytest.raises(ValidationFailed):
        add_store(corp, admin, code, people)
    assert not LiveCode.objects.for_corp(corp).exists()
    assert set(ways(sim)) == before


def test_update_repoints_the_same_live_code_and_keeps_its_own_settings(corp, admin, code,
                                                                       people, sim):
    store = add_store(corp, admin, code, people)
    live = store.live_code
    tag = TagFactory(corp=corp)
    live_code_update(corp=corp, actor=admin, live_code=live, name=live.name, mode="random",
                     members=[{"employee_id": people[0].pk}], tag_ids=[tag.pk],
                     welcome_text="欢迎光临 {customer_name}")
    store_update(corp=corp, actor=admin, store=store, name="静安旗舰店", city="上海市",
                 district="静安区", address="南京西路 1 号", latitude="31.23",
                 longitude="121.47", employee_ids=[people[2].pk])
    store.refresh_from_db()
    live.refresh_from_db()
    assert store.live_code_id == live.pk and store.name == "静安旗舰店"
    assert live.name == "门店活码 · 静安旗舰店"
    assert ways(sim)[live.wecom_config_id]["user"] == [people[2].userid]
    assert list(live.tags.all()) == [tag] and live.welcome_text == "欢迎光临 {customer_name}"
    assert store.phone == ""
    audit = AuditLog.objects.for_corp(corp).get(action="store.update")
    assert audit.changes["employees"] == [sorted([people[0].pk, people[1].pk]), [people[2].pk]]


def test_failed_update_changes_nothing(corp, admin, code, people, sim):
    store = add_store(corp, admin, code, people)
    ghost = EmployeeFactory(corp=corp, userid="not_in_wecom")
    users_before = ways(sim)[store.live_code.wecom_config_id]["user"]
    with pytest.raises(Conflict):
        store_update(corp=corp, actor=admin, store=store, name="Renamed", city="上海市",
                     address="x", employee_ids=[ghost.pk])
    store.refresh_from_db()
    assert store.name == "静安店"
    assert ways(sim)[store.live_code.wecom_config_id]["user"] == users_before
    assert sorted(store.employees.values_list("pk", flat=True)) == [people[0].pk, people[1].pk]


def test_failed_update_after_wecom_accepted_puts_the_live_code_back(corp, admin, code, people,
                                                                    sim, monkeypatch):
    store = add_store(corp, admin, code, people)
    live = store.live_code
    users_before = sorted(ways(sim)[live.wecom_config_id]["user"])
    real_audit = store_services.audit_record

    def broken_audit(**kwargs):
        if kwargs["action"] == "store.update":
            raise RuntimeError("disk full")
        return real_audit(**kwargs)

    monkeypatch.setattr(store_services, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        store_update(corp=corp, actor=admin, store=store, name="Renamed", city="上海市",
                     address="x", employee_ids=[people[2].pk])
    live.refresh_from_db()
    store.refresh_from_db()
    assert sorted(ways(sim)[live.wecom_config_id]["user"]) == users_before
    assert live.name == "门店活码 · 静安店" and store.name == "静安店"
    assert sorted(live.members.values_list("employee_id", flat=True)) == sorted(
        [people[0].pk, people[1].pk])


def test_a_live_code_disabled_elsewhere_is_replaced_on_update(corp, admin, code, people, sim):
    store = add_store(corp, admin, code, people)
    old = store.live_code
    live_code_disable(corp=corp, actor=admin, live_code=old)
    store_update(corp=corp, actor=admin, store=store, name=store.name, city=store.city,
                 address=store.address, employee_ids=[people[0].pk])
    store.refresh_from_db()
    assert store.live_code_id != old.pk
    assert store.live_code.status == LiveCode.Status.ACTIVE
    assert ways(sim)[store.live_code.wecom_config_id]["user"] == [people[0].userid]


def test_delete_disables_the_live_code_and_keeps_its_row(corp, admin, code, people, sim):
    store = add_store(corp, admin, code, people)
    live = store.live_code
    store_delete(corp=corp, actor=admin, store=store)
    assert not Store.objects.for_corp(corp).exists()
    live.refresh_from_db()
    assert live.status == LiveCode.Status.DISABLED
    assert live.wecom_config_id not in ways(sim)
    assert AuditLog.objects.for_corp(corp).filter(action="store.delete").count() == 1


def test_renaming_the_code_renames_its_stores_live_codes(corp, admin, code, people, sim):
    first = add_store(corp, admin, code, people)
    second = add_store(corp, admin, code, people, name="徐汇店", employee_ids=[people[2].pk])
    store_code_update(corp=corp, actor=admin, store_code=code, name="春季门店")
    for store in (first, second):
        store.refresh_from_db()
        assert store.live_code.name == f"春季门店 · {store.name}"
        assert ways(sim)[store.live_code.wecom_config_id]["remark"] == store.live_code.name
    assert sorted(ways(sim)[second.live_code.wecom_config_id]["user"]) == [people[2].userid]
    code.refresh_from_db()
    assert code.name == "春季门店"


def test_code_name_of_long_names_fits_the_live_code(corp, admin, people):
    code = store_code_create(corp=corp, actor=admin, name="码" * 64)
    store = add_store(corp, admin, code, people, name="店" * 64)
    assert len(store.live_code.name) == 64 and store.live_code.name.endswith("…")


def test_disabling_the_code_disables_every_store_code(corp, admin, code, people, sim):
    stores = [add_store(corp, admin, code, people),
              add_store(corp, admin, code, people, name="徐汇店")]
    store_code_disable(corp=corp, actor=admin, store_code=code)
    code.refresh_from_db()
    assert code.status == StoreCode.Status.DISABLED
    for store in stores:
        store.refresh_from_db()
        assert store.live_code.status == LiveCode.Status.DISABLED
        assert store.live_code.wecom_config_id not in ways(sim)
    store_code_disable(corp=corp, actor=admin, store_code=code)  # again: nothing to do
    with pytest.raises(Conflict):
        add_store(corp, admin, code, people, name="新店")
    with pytest.raises(Conflict):
        store_update(corp=corp, actor=admin, store=stores[0], name="x", city="x", address="x",
                     employee_ids=[people[0].pk])
    with pytest.raises(Conflict):
        store_code_update(corp=corp, actor=admin, store_code=code, name="Again")


def test_staff_cannot_manage_store_codes(corp, code, people):
    staff = UserFactory(corp=corp, role="staff")
    with pytest.raises(PermissionDenied):
        store_code_create(corp=corp, actor=staff, name="Mine")
    with pytest.raises(PermissionDenied):
        add_store(corp, staff, code, people)
    assert not Store.objects.for_corp(corp).exists()


def test_manager_can_manage_store_codes(corp, code, people, sim):
    manager = UserFactory(corp=corp, role="manager")
    store = add_store(corp, manager, code, people)
    assert store.live_code.wecom_config_id in ways(sim)


def test_another_enterprises_code_is_refused(corp, admin, people):
    other = CorpFactory()
    foreign = store_code_create(corp=other, actor=UserFactory(corp=other, role="admin"),
                                name="Foreign")
    with pytest.raises(Conflict):
        add_store(corp, admin, foreign, people)
    with pytest.raises(Conflict):
        store_code_disable(corp=corp, actor=admin, store_code=foreign)
    with pytest.raises(Conflict):
        store_code_update(corp=corp, actor=admin, store_code=foreign, name="Mine now")
    foreign.refresh_from_db()
    assert foreign.status == StoreCode.Status.ACTIVE and foreign.name == "Foreign"


# --- groups: a group live code per store ----------------------------------------------------
@pytest.fixture
def groups(corp, sim, people):
    made = []
    for i in range(3):
        chat_id = sim.control.create_group(owner=people[0].userid, name=f"门店群{i}")["chat_id"]
        made.append(CustomerGroup.objects.create(corp=corp, chat_id=chat_id, name=f"门店群{i}",
                                                 owner=people[0], member_count=1))
    return made


def join_ways(sim) -> dict:
    return {w["config_id"]: w for w in sim.control.contact_ways()["join_ways"]}


def test_store_groups_get_a_group_code_in_the_chosen_order(corp, admin, code, people, groups,
                                                           sim):
    store = add_store(corp, admin, code, people,
                      group_ids=[groups[1].pk, groups[0].pk])
    group_code = store.group_code
    assert group_code.name == "门店活码 · 静安店"
    way = join_ways(sim)[group_code.wecom_config_id]
    assert way["chat_id_list"] == [groups[1].chat_id, groups[0].chat_id]
    assert way["state"] == group_code.state and group_code.qr_code
    assert store.live_code is not None  # employees too: both codes


def test_store_with_groups_only_has_no_live_code(corp, admin, code, people, groups, sim):
    store = add_store(corp, admin, code, people, employee_ids=[], group_ids=[groups[0].pk])
    assert store.live_code is None and store.group_code is not None
    assert not LiveCode.objects.for_corp(corp).exists()


def test_switching_a_store_from_employees_to_groups_and_back(corp, admin, code, people, groups,
                                                             sim):
    store = add_store(corp, admin, code, people)
    live = store.live_code
    fields = {"name": store.name, "city": store.city, "address": store.address}
    store_update(corp=corp, actor=admin, store=store, employee_ids=[],
                 group_ids=[groups[2].pk], **fields)
    store.refresh_from_db()
    live.refresh_from_db()
    assert store.live_code is None and live.status == LiveCode.Status.DISABLED
    assert live.wecom_config_id not in ways(sim)
    group_code = store.group_code
    assert join_ways(sim)[group_code.wecom_config_id]["chat_id_list"] == [groups[2].chat_id]
    store_update(corp=corp, actor=admin, store=store, employee_ids=[people[1].pk],
                 group_ids=[groups[2].pk, groups[0].pk], **fields)
    store.refresh_from_db()
    assert store.group_code_id == group_code.pk  # the same group code, re-pointed
    assert join_ways(sim)[group_code.wecom_config_id]["chat_id_list"] == [
        groups[2].chat_id, groups[0].chat_id]
    assert ways(sim)[store.live_code.wecom_config_id]["user"] == [people[1].userid]
    store_update(corp=corp, actor=admin, store=store, employee_ids=[people[1].pk],
                 group_ids=[], **fields)
    store.refresh_from_db()
    group_code.refresh_from_db()
    assert store.group_code is None and group_code.status == "disabled"
    assert group_code.wecom_config_id not in join_ways(sim)


def test_group_code_refusal_discards_the_new_live_code(corp, admin, code, people, sim):
    stranger = CustomerGroup.objects.create(corp=corp, chat_id="wr_unknown_to_wecom",
                                            name="幽灵群", owner=people[0])
    before_ways, before_joins = set(ways(sim)), set(join_ways(sim))
    with pytest.raises((Conflict, ValidationFailed)):
        add_store(corp, admin, code, people, group_ids=[stranger.pk])
    assert not Store.objects.for_corp(corp).exists()
    assert not LiveCode.objects.for_corp(corp).exists()
    assert set(ways(sim)) == before_ways and set(join_ways(sim)) == before_joins


def test_delete_and_disable_stop_the_group_codes_too(corp, admin, code, people, groups, sim):
    first = add_store(corp, admin, code, people, group_ids=[groups[0].pk])
    second = add_store(corp, admin, code, people, name="徐汇店", employee_ids=[],
                       group_ids=[groups[1].pk])
    store_delete(corp=corp, actor=admin, store=first)
    assert first.group_code.wecom_config_id not in join_ways(sim)
    store_code_disable(corp=corp, actor=admin, store_code=code)
    second.group_code.refresh_from_db()
    assert second.group_code.status == "disabled"
    assert second.group_code.wecom_config_id not in join_ways(sim)


def test_renaming_the_code_renames_the_group_codes(corp, admin, code, people, groups, sim):
    store = add_store(corp, admin, code, people, group_ids=[groups[0].pk])
    store_code_update(corp=corp, actor=admin, store_code=code, name="秋季门店")
    store.group_code.refresh_from_db()
    assert store.group_code.name == "秋季门店 · 静安店"
    assert join_ways(sim)[store.group_code.wecom_config_id]["remark"] == "秋季门店 · 静安店"
