"""The live codes REST API (/api/v1/live-codes) against the WeCom simulator over HTTP: create,
read, replace, patch and disable go through the services and WeCom's contact ways; errors are
JSON naming the field; nobody reads or writes another enterprise's code, staff cannot write and
see only the codes they take customers from; the OpenAPI document still renders."""

import json

import pytest
from django.test import Client

from siyu.accounts.services import api_token_create
from siyu.acquisition.models import LiveCode
from siyu.core.models import AuditLog
from siyu.wecom.simulator.testing import running_simulator
from tests.fixtures import WORLD_MIRROR, world_on_simulator

API = "/api/v1/live-codes"
LINK = {"msgtype": "link", "link": {"title": "新人礼", "url": "https://e.com/gift"}}


@pytest.fixture(scope="module")
def sim():
    with running_simulator(corp_id="wwxcorp", seed=4, groups=0, mirror=WORLD_MIRROR) as running:
        yield running


@pytest.fixture
def corp(world, sim, settings):
    settings.LANGUAGE_CODE = "en"
    return world_on_simulator(world, sim, settings)


def client_for(user) -> Client:
    token = api_token_create(corp=user.corp, username=user.username)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")


def send(client, method, url, body=None):
    return getattr(client, method)(url, json.dumps(body if body is not None else {}),
                                   content_type="application/json")


def ways(sim) -> dict:
    return {w["config_id"]: w for w in sim.control.contact_ways()["contact_ways"]}


def body(world, **overrides) -> dict:
    return {"name": "双11直播", "mode": "random",
            "members": [{"employee_id": world.employees["a"].pk}]} | overrides


def create(world, **overrides) -> dict:
    response = send(client_for(world.admin), "post", API, body(world, **overrides))
    assert response.status_code == 201, response.content
    return response.json()


def unchanged(corp, sim) -> tuple:
    """Everything a refused write could have touched, locally and in WeCom."""
    codes = sorted(LiveCode.objects.for_corp(corp).values_list(
        "id", "name", "mode", "status", "welcome_text", "updated_at"))
    return codes, AuditLog.objects.unscoped().count(), sorted(
        (c, w["user"], w.get("remark")) for c, w in ways(sim).items())


def test_create_syncs_the_contact_way_and_returns_everything(corp, world, sim):
    a, b, east = world.employees["a"], world.employees["b"], world.departments["east"]
    created = create(world, mode="time_slot", skip_verify=False,
                     tag_ids=[world.tags["vip"].pk], welcome_text="您好 {customer_name}",
                     welcome_attachments=[LINK], members=[
                         {"employee_id": a.pk, "daily_cap": 50, "slots": [
                             {"weekdays": [4], "start": "22:00", "end": "02:00"}]},
                         {"department_id": east.pk, "slots": [
                             {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "00:00",
                              "end": "00:00"}]},
                         {"employee_id": b.pk, "is_backup": True}])
    assert created["state"].startswith("lc_") and created["status"] == "active"
    assert created["qr_code"] and created["skip_verify"] is False
    assert created["tags"] == [{"id": world.tags["vip"].pk, "name": "VIP"}]
    assert (created["welcome_text"], created["welcome_attachments"]) == ("您好 {customer_name}",
                                                                         [LINK])
    first, second, backup = created["members"]
    assert (first["employee_id"], first["employee_name"], first["daily_cap"]) == (a.pk, a.name,
                                                                                  50)
    assert first["slots"] == [{"weekdays": [4], "start": "22:00", "end": "02:00"}]
    assert (second["department_id"], second["department_name"]) == (east.pk, east.name)
    assert (backup["employee_id"], backup["is_backup"], backup["order"]) == (b.pk, True, 2)
    code = LiveCode.objects.for_corp(corp).get(pk=created["id"])
    assert ways(sim)[code.wecom_config_id]["state"] == created["state"]
    assert client_for(world.admin).get(f"{API}/{code.pk}").json() == created


def test_list_pages_with_a_cursor_and_filters(corp, world):
    ids = [create(world, name=f"code {n}")["id"] for n in range(3)]
    client = client_for(world.admin)
    first = client.get(API, {"limit": 2}).json()
    assert [c["id"] for c in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    second = client.get(API, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["id"] for c in second["items"]] == [ids[0]] and second["next_cursor"] is None
    send(client, "post", f"{API}/{ids[1]}/disable")
    assert [c["id"] for c in client.get(API, {"status": "disabled"}).json()["items"]] == [ids[1]]
    assert [c["id"] for c in client.get(API, {"q": "code 2"}).json()["items"]] == [ids[2]]
    bad = client.get(API, {"cursor": "nonsense", "status": "paused"})
    assert bad.status_code == 422 and "status" in bad.json()["fields"]


def test_put_replaces_and_patch_changes_only_what_is_sent(corp, world, sim):
    created = create(world, tag_ids=[world.tags["vip"].pk], welcome_text="hi")
    client = client_for(world.manager)
    url = f"{API}/{created['id']}"
    mgr, b = world.employees["manager"], world.employees["b"]
    replaced = send(client, "put", url, body(world, name="换人", mode="round_robin", members=[
        {"employee_id": b.pk}, {"employee_id": mgr.pk}]))
    assert replaced.status_code == 200, replaced.content
    out = replaced.json()
    assert (out["name"], out["mode"], out["tags"], out["welcome_text"]) == ("换人",
                                                                          "round_robin", [], "")
    code = LiveCode.objects.for_corp(corp).get(pk=created["id"])
    assert ways(sim)[code.wecom_config_id]["user"] == [b.userid]  # round robin: first turn
    patched = send(client, "patch", url, {"name": "只改名字", "welcome_attachments": [LINK]})
    assert patched.status_code == 200, patched.content
    out = patched.json()
    assert (out["name"], out["mode"], out["welcome_attachments"]) == ("只改名字", "round_robin",
                                                                      [LINK])
    assert [m["employee_id"] for m in out["members"]] == [b.pk, mgr.pk]
    assert ways(sim)[code.wecom_config_id]["remark"] == "只改名字"


def test_disable_deletes_the_contact_way_and_later_edits_conflict(corp, world, sim):
    created = create(world)
    code = LiveCode.objects.for_corp(corp).get(pk=created["id"])
    client = client_for(world.admin)
    response = send(client, "post", f"{API}/{code.pk}/disable")
    assert response.status_code == 200 and response.json()["status"] == "disabled"
    assert code.wecom_config_id not in ways(sim)
    assert send(client, "post", f"{API}/{code.pk}/disable").status_code == 200
    conflict = send(client, "patch", f"{API}/{code.pk}", {"name": "again"})
    assert conflict.status_code == 409 and conflict.json()["error"] == "conflict"


@pytest.mark.parametrize(("overrides", "field", "expected"), [
    ({"name": " "}, "name", "Required"),
    ({"members": []}, "members", "at least one"),
    ({"welcome_attachments": [{"msgtype": "link", "link": {"url": "https://e.com"}}]},
     "welcome_attachments", "Attachment 1 (link): title is required"),
    ({"welcome_text": "{nickname}"}, "welcome_text", "{nickname}"),
    ({"tag_ids": [999_999]}, "tag_ids", "does not exist"),
    ({"mode": "time_slot"}, "slots", "time slot"),
    ({"members": [{"employee_id": 1, "colour": "red"}]}, "members", "Unknown field"),
    ({"expires_at": "2020-01-01T00:00:00+08:00"}, "expires_at", "future"),
    ({"mode": "sometimes"}, "mode", ""),
])
def test_bad_input_is_json_naming_the_field_and_writes_nothing(corp, world, sim, overrides,
                                                               field, expected):
    client = client_for(world.admin)
    before = unchanged(corp, sim)
    response = send(client, "post", API, body(world, **overrides))
    assert response.status_code == 422, response.content
    error = response.json()
    assert error["error"] == "validation_failed" and error["message"]
    assert any(expected in message for message in error["fields"][field]), error
    assert unchanged(corp, sim) == before


def test_patch_refuses_nulls_and_bad_values_without_writing(corp, world, sim):
    url = f"{API}/{create(world)['id']}"
    client = client_for(world.admin)
    before = unchanged(corp, sim)
    nulls = send(client, "patch", url, {"name": None, "members": None})
    assert nulls.status_code == 422 and set(nulls.json()["fields"]) == {"name", "members"}
    bad = send(client, "patch", url, {"welcome_text": "好" * 1334})
    assert bad.status_code == 422 and "4000" in bad.json()["fields"]["welcome_text"][0]
    assert unchanged(corp, sim) == before


def test_staff_cannot_write_and_see_only_their_own_codes(corp, world, sim):
    mine = create(world)  # staff_a's employee takes its customers
    theirs = create(world, name="客服", members=[{"employee_id": world.employees["b"].pk}])
    staff_a, staff_b = client_for(world.staff_a), client_for(world.staff_b)
    before = unchanged(corp, sim)
    assert [c["id"] for c in staff_a.get(API).json()["items"]] == [mine["id"]]
    assert staff_a.get(f"{API}/{mine['id']}").status_code == 200
    assert [c["id"] for c in staff_b.get(API).json()["items"]] == [theirs["id"]]
    assert staff_b.get(f"{API}/{mine['id']}").json()["error"] == "not_found"
    for client, target in ((staff_a, mine), (staff_b, mine)):
        url = f"{API}/{target['id']}"
        for method, path, payload in (("post", API, body(world)), ("put", url, body(world)),
                                      ("patch", url, {"name": "x"}),
                                      ("post", f"{url}/disable", {})):
            response = send(client, method, path, payload)
            assert response.status_code == 403, (method, path, response.content)
            assert response.json()["error"] == "permission_denied"
    assert unchanged(corp, sim) == before
    # A department member sees the code of their department; the manager sees every code.
    dept = create(world, name="部门码", members=[{"department_id": world.departments["east"].pk}])
    assert dept["id"] in [c["id"] for c in staff_a.get(API).json()["items"]]
    assert {c["id"] for c in client_for(world.manager).get(API).json()["items"]} == {
        mine["id"], theirs["id"], dept["id"]}


def test_another_enterprise_neither_sees_nor_changes_a_code(corp, world, other_world, sim):
    code = create(world)
    outsider = client_for(other_world.admin)
    before = unchanged(corp, sim)
    assert outsider.get(API).json()["items"] == []
    url = f"{API}/{code['id']}"
    assert outsider.get(url).status_code == 404
    for method, path, payload in (("put", url, body(other_world)), ("patch", url, {"name": "x"}),
                                  ("post", f"{url}/disable", {})):
        response = send(outsider, method, path, payload)
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    # Creating with this enterprise's employees from the other one: not its employees.
    response = send(outsider, "post", API, body(world))
    assert response.status_code == 422 and "members" in response.json()["fields"]
    assert unchanged(corp, sim) == before


def test_anonymous_is_401(corp, world):
    response = Client().get(API)
    assert response.status_code == 401 and response.json()["error"] == "unauthenticated"


def test_openapi_document_lists_the_live_code_paths(db):
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths["/api/v1/live-codes"]) == {"get", "post"}
    assert set(paths["/api/v1/live-codes/{live_code_id}"]) == {"get", "put", "patch"}
    assert "post" in paths["/api/v1/live-codes/{live_code_id}/disable"]
    assert Client().get("/api/docs").status_code == 200
