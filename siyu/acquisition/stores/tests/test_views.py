"""Console pages of store codes against the WeCom simulator over HTTP: list, create, detail with
the landing page's URL and QR code, store add/edit/delete with their errors, rename and
disable; and nobody sees or changes another enterprise's store code, or one outside their
role."""

import pytest
from django.urls import reverse

from siyu.accounts.tests.factories import EmployeeFactory
from siyu.acquisition.models import LiveCode, Store, StoreCode
from siyu.acquisition.stores.services import store_code_create, store_create
from siyu.acquisition.stores.tests import factories as make
from siyu.groups.models import CustomerGroup
from siyu.wecom.simulator.testing import running_simulator
from tests.fixtures import WORLD_MIRROR, world_on_simulator

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sim():
    with running_simulator(corp_id="wwxcorp", seed=4, groups=0, mirror=WORLD_MIRROR) as running:
        yield running


@pytest.fixture
def corp(world, sim, settings):
    return world_on_simulator(world, sim, settings)


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def ways(sim) -> dict:
    return {w["config_id"]: w for w in sim.control.contact_ways()["contact_ways"]}


def login(client, user):
    client.force_login(user)
    return client


def url(name, *args):
    return reverse(f"acquisition:{name}", args=args)


@pytest.fixture
def code(world, corp):
    """A synced store code of world "x": 静安店 served by staff_a's employee."""
    code = store_code_create(corp=corp, actor=world.admin, name="春季门店")
    store_create(corp=corp, actor=world.admin, store_code=code, name="静安店", city="上海市",
                 district="静安区", address="南京西路 1266 号", latitude="31.2290",
                 longitude="121.4480", employee_ids=[world.employees["a"].pk])
    return code


@pytest.fixture
def theirs(other_world):
    code = make.store_code(other_world.corp, name="对手门店")
    make.store(code, "对手店", lat=31.2, lng=121.4, employees=[other_world.employees["a"]])
    return code


def store_data(world, **overrides) -> dict:
    data = {"name": "徐汇店", "province": "", "city": "上海市", "district": "徐汇区",
            "address": "衡山路 1 号", "latitude": "31.1880", "longitude": "121.4370",
            "coordinate_system": "wgs84", "phone": "021-6400 0000", "order": "",
            "employees": [str(world.employees["a"].pk), str(world.employees["b"].pk)]}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- list -----------------------------------------------------------------------------------
def test_list_needs_a_login(client, world):
    response = client.get(url("store_codes"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_admin_lists_own_codes_only(client, world, code, theirs):
    html = login(client, world.admin).get(url("store_codes")).content.decode()
    assert "春季门店" in html and "对手门店" not in html
    assert url("store_code_create") in html


def test_staff_list_only_codes_they_serve(client, world, code):
    make.store(make.store_code(world.corp, name="别的码"), "别的店",
               employees=[world.employees["b"]])
    html = login(client, world.staff_a).get(url("store_codes")).content.decode()
    assert "春季门店" in html and "别的码" not in html
    assert url("store_code_create") not in html
    html = login(client, world.staff_b).get(url("store_codes")).content.decode()
    assert "春季门店" not in html and "别的码" in html


def test_manager_lists_every_code_of_the_enterprise(client, world, code, theirs):
    make.store_code(world.corp, name="空码")
    html = login(client, world.manager).get(url("store_codes")).content.decode()
    assert "春季门店" in html and "空码" in html and "对手门店" not in html


# --- detail and QR --------------------------------------------------------------------------
def test_detail_shows_landing_url_qr_and_stores(client, world, code):
    StoreCode.objects.for_corp(world.corp).filter(pk=code.pk).update(landing_views=7)
    Store.objects.for_corp(world.corp).update(shown_nearest=5)
    html = login(client, world.admin).get(url("store_code_detail", code.pk)).content.decode()
    assert "Opened 7 times" in html and '<td class="num">5</td>' in html
    assert f"http://testserver/s/{code.slug}/" in html
    assert url("store_code_qr", code.pk) in html
    assert "静安店" in html and "南京西路 1266 号" in html and "x销售甲" in html
    assert "31.229000, 121.448000" in html
    assert url("store_create", code.pk) in html and url("store_code_disable", code.pk) in html


def test_staff_see_the_detail_of_a_code_they_serve_without_controls(client, world, code):
    html = login(client, world.staff_a).get(url("store_code_detail", code.pk)).content.decode()
    assert "静安店" in html
    assert url("store_create", code.pk) not in html
    assert url("store_code_disable", code.pk) not in html


@pytest.mark.parametrize("who", ["staff_b"])
def test_staff_outside_the_code_get_404(client, world, code, who):
    user = getattr(world, who)
    assert login(client, user).get(url("store_code_detail", code.pk)).status_code == 404
    assert client.get(url("store_code_qr", code.pk)).status_code == 404


def test_other_enterprise_gets_404_everywhere(client, world, other_world, code):
    store = Store.objects.for_corp(world.corp).get()
    login(client, other_world.admin)
    for path in (url("store_code_detail", code.pk), url("store_code_qr", code.pk),
                 url("store_create", code.pk), url("store_edit", code.pk, store.pk)):
        assert client.get(path).status_code == 404, path
    for path in (url("store_code_rename", code.pk), url("store_code_disable", code.pk),
                 url("store_delete", code.pk, store.pk), url("store_create", code.pk),
                 url("store_edit", code.pk, store.pk)):
        assert client.post(path, {"name": "taken"}).status_code == 404, path
    code.refresh_from_db()
    assert code.status == "active" and code.name == "春季门店"
    assert Store.objects.for_corp(world.corp).get().name == "静安店"


def test_a_store_of_another_code_is_not_found_under_this_one(client, world, code, theirs):
    mine = make.store_code(world.corp, name="空码")
    store = Store.objects.for_corp(world.corp).get(store_code=code)
    foreign = Store.objects.for_corp(theirs.corp).get()
    login(client, world.admin)
    assert client.get(url("store_edit", mine.pk, store.pk)).status_code == 404
    assert client.get(url("store_edit", code.pk, foreign.pk)).status_code == 404
    assert client.post(url("store_delete", code.pk, foreign.pk)).status_code == 404
    assert Store.objects.for_corp(theirs.corp).exists()


def test_qr_code_is_a_png_and_downloadable(client, world, code):
    login(client, world.admin)
    response = client.get(url("store_code_qr", code.pk))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_MAGIC)
    assert "Content-Disposition" not in response
    download = client.get(url("store_code_qr", code.pk), {"download": "1"})
    assert download["Content-Disposition"] == f'attachment; filename="store-code-{code.pk}.png"'
    other = make.store_code(world.corp, name="另一个")
    assert client.get(url("store_code_qr", other.pk)).content != response.content


# --- create code ----------------------------------------------------------------------------
def test_admin_creates_a_store_code(client, world, corp):
    login(client, world.admin)
    assert client.get(url("store_code_create")).status_code == 200
    response = client.post(url("store_code_create"), {"name": "夏季门店"})
    created = StoreCode.objects.for_corp(world.corp).get(name="夏季门店")
    assert response.status_code == 302
    assert response["Location"] == url("store_code_detail", created.pk)


def test_empty_name_shows_the_error(client, world, corp):
    response = login(client, world.admin).post(url("store_code_create"), {"name": " "})
    assert response.status_code == 422 and "Required." in response.content.decode()
    assert not StoreCode.objects.for_corp(world.corp).exists()


def test_staff_cannot_create_or_change(client, world, code):
    store = Store.objects.for_corp(world.corp).get()
    login(client, world.staff_a)
    assert client.get(url("store_code_create")).status_code == 403
    assert client.post(url("store_code_create"), {"name": "Mine"}).status_code == 403
    assert client.get(url("store_create", code.pk)).status_code == 403
    assert client.post(url("store_create", code.pk), store_data(world)).status_code == 403
    assert client.get(url("store_edit", code.pk, store.pk)).status_code == 403
    assert client.post(url("store_delete", code.pk, store.pk)).status_code == 403
    assert client.post(url("store_code_disable", code.pk)).status_code == 403
    assert client.post(url("store_code_rename", code.pk), {"name": "x"}).status_code == 403
    assert StoreCode.objects.for_corp(world.corp).count() == 1
    assert Store.objects.for_corp(world.corp).count() == 1
    code.refresh_from_db()
    assert code.status == "active" and code.name == "春季门店"


# --- stores ---------------------------------------------------------------------------------
def test_add_store_form_lists_employees_and_groups(client, world, code):
    CustomerGroup.objects.create(corp=world.corp, chat_id="wr_one", name="老客户群",
                                 owner=world.employees["a"])
    CustomerGroup.objects.create(corp=world.corp, chat_id="wr_gone", name="已解散群",
                                 status="dismissed")
    html = login(client, world.admin).get(url("store_create", code.pk)).content.decode()
    for name in ("x经理", "x销售甲", "x客服乙", "老客户群"):
        assert name in html
    assert "已解散群" not in html
    assert "GCJ-02" in html


def test_add_store_creates_its_live_code(client, world, code, sim):
    response = login(client, world.admin).post(url("store_create", code.pk), store_data(world))
    assert response.status_code == 302
    store = Store.objects.for_corp(world.corp).get(name="徐汇店")
    assert store.order == 1 and store.phone == "021-6400 0000"
    assert sorted(ways(sim)[store.live_code.wecom_config_id]["user"]) == ["x_a", "x_b"]
    html = client.get(url("store_code_detail", code.pk)).content.decode()
    assert "徐汇店" in html and "Store saved." in html


def test_gcj02_coordinates_from_the_form(client, world, code):
    login(client, world.admin).post(url("store_create", code.pk), store_data(
        world, latitude="31.17530398364597", longitude="121.531541859215",
        coordinate_system="gcj02"))
    store = Store.objects.for_corp(world.corp).get(name="徐汇店")
    assert str(store.latitude) == "31.177428" and str(store.longitude) == "121.527211"


@pytest.mark.parametrize(("overrides", "field_text"), [
    ({"name": ""}, "Required."),
    ({"latitude": "north"}, "number of degrees"),
    ({"latitude": "95"}, "between -90 and 90"),
    ({"longitude": ""}, "Give both latitude and longitude"),
    ({"phone": "call me"}, "Use digits"),
    ({"employees": []}, "at least one employee or one group"),
])
def test_bad_store_input_shows_the_error_and_keeps_the_input(client, world, code, sim,
                                                             overrides, field_text):
    before = set(ways(sim))
    response = login(client, world.admin).post(url("store_create", code.pk),
                                               store_data(world, **overrides))
    assert response.status_code == 422
    html = response.content.decode()
    assert field_text in html and "nothing was saved" in html
    assert 'value="衡山路 1 号"' in html  # what was typed stays
    assert not Store.objects.for_corp(world.corp).filter(name="徐汇店").exists()
    assert set(ways(sim)) == before


def test_wecom_refusal_is_shown(client, world, code, sim):
    ghost = EmployeeFactory(corp=world.corp, userid="ghost_not_in_wecom", name="幽灵")
    response = login(client, world.admin).post(url("store_create", code.pk),
                                               store_data(world, employees=[str(ghost.pk)]))
    assert response.status_code == 422
    assert "WeCom" in response.content.decode()
    assert not Store.objects.for_corp(world.corp).filter(name="徐汇店").exists()
    assert LiveCode.objects.for_corp(world.corp).count() == 1


def test_edit_store(client, world, code, sim):
    store = Store.objects.for_corp(world.corp).get()
    login(client, world.admin)
    html = client.get(url("store_edit", code.pk, store.pk)).content.decode()
    assert 'value="静安店"' in html and 'value="31.229000"' in html
    assert f'value="{world.employees["a"].pk}" checked' in html
    response = client.post(url("store_edit", code.pk, store.pk), store_data(
        world, name="静安旗舰店", employees=[str(world.employees["b"].pk)]))
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.name == "静安旗舰店" and store.city == "上海市"
    assert ways(sim)[store.live_code.wecom_config_id]["user"] == ["x_b"]


def test_manager_editing_keeps_employees_outside_their_department(client, world, code):
    store = Store.objects.for_corp(world.corp).get()
    store.employees.add(world.employees["b"])  # 客服部: not under the manager's 销售部
    html = login(client, world.manager).get(url("store_edit", code.pk, store.pk)).content.decode()
    assert f'value="{world.employees["b"].pk}" checked' in html


def test_delete_store(client, world, code, sim):
    store = Store.objects.for_corp(world.corp).get()
    config_id = store.live_code.wecom_config_id
    response = login(client, world.admin).post(url("store_delete", code.pk, store.pk))
    assert response.status_code == 302
    assert not Store.objects.for_corp(world.corp).exists()
    assert config_id not in ways(sim)


def test_rename_and_its_error(client, world, code):
    login(client, world.admin)
    client.post(url("store_code_rename", code.pk), {"name": "秋季门店"})
    code.refresh_from_db()
    assert code.name == "秋季门店"
    assert Store.objects.for_corp(world.corp).get().live_code.name == "秋季门店 · 静安店"
    response = client.post(url("store_code_rename", code.pk), {"name": ""}, follow=True)
    assert "Required." in response.content.decode()
    code.refresh_from_db()
    assert code.name == "秋季门店"


def test_disable_stops_the_landing_page(client, world, code, sim):
    config_id = Store.objects.for_corp(world.corp).get().live_code.wecom_config_id
    login(client, world.manager)
    response = client.post(url("store_code_disable", code.pk), follow=True)
    code.refresh_from_db()
    assert code.status == "disabled" and config_id not in ways(sim)
    html = response.content.decode()
    assert url("store_create", code.pk) not in html  # a disabled code is read-only
    assert client.get(reverse("acquisition_public:landing", args=[code.slug])).status_code == 404
    assert client.post(url("store_create", code.pk), store_data(world)).status_code == 422
