import json

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone

from siyu.accounts.models import ApiToken
from siyu.accounts.services import api_token_create
from siyu.core.models import AuditLog
from siyu.customers.models import Customer, CustomerTag, TimelineEvent
from siyu.customers.tests.factories import CustomerFactory, CustomerTagFactory, FollowFactory

API = "/api/v1"
ROLES_SEE = {
    "admin": {"A1", "A2", "B1", "M1"},
    "manager": {"A1", "A2", "M1"},
    "staff_a": {"A1", "A2"},
    "staff_b": {"B1"},
}


def bearer(user) -> dict:
    token = api_token_create(corp=user.corp, username=user.username)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(client, method, url, body) -> object:
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def keys_of(world, names) -> set:
    by_id = {c.pk: key for key, c in world.customers.items()}
    return {by_id.get(item["id"], item["name"]) for item in names}


def db_state(corp) -> tuple:
    """Everything a customer write could touch, to prove a refused request wrote nothing."""
    customers = sorted(Customer.objects.for_corp(corp).values_list(
        "id", "name", "phones", "email", "birthday", "company", "merged_into"))
    return (customers, CustomerTag.objects.for_corp(corp).count(),
            TimelineEvent.objects.for_corp(corp).count(), AuditLog.objects.unscoped().count())


# --- authentication -------------------------------------------------------------------------


def test_no_credentials_is_401_json(world):
    response = Client().get(f"{API}/customers")
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "unauthenticated" and body["fields"] == {}
    assert "Bearer" in body["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer siyu_not-a-real-token", "Bearer ", "Bearer x" * 50,
                                    "Basic dXNlcjpwYXNz", "siyu_abc"])
def test_bad_token_is_401(world, header):
    response = Client().get(f"{API}/customers", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


def test_revoked_token_is_401(world):
    headers = bearer(world.admin)
    assert Client().get(f"{API}/customers", **headers).status_code == 200
    ApiToken.objects.for_corp(world.corp).update(revoked_at=timezone.now())
    response = Client().get(f"{API}/customers", **headers)
    assert response.status_code == 401


def test_token_of_deactivated_user_is_401(world):
    headers = bearer(world.staff_a)
    world.staff_a.is_active = False
    world.staff_a.save()
    assert Client().get(f"{API}/customers", **headers).status_code == 401


def test_bad_token_is_refused_even_with_a_session(world):
    client = as_user(world.admin)
    response = client.get(f"{API}/customers", HTTP_AUTHORIZATION="Bearer siyu_wrong")
    assert response.status_code == 401


def test_bearer_token_acts_as_its_user(world, other_world):
    response = Client().get(f"{API}/customers", **bearer(world.staff_a))
    assert response.status_code == 200
    assert keys_of(world, response.json()["items"]) == {"A1", "A2"}


def test_bearer_write_needs_no_csrf(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"{API}/customers", json.dumps({"name": "令牌客户"}),
                           content_type="application/json", **bearer(world.staff_a))
    assert response.status_code == 201


def test_session_write_needs_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.staff_a)
    before = db_state(world.corp)
    response = client.post(f"{API}/customers", json.dumps({"name": "会话客户"}),
                           content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert db_state(world.corp) == before
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    response = client.post(f"{API}/customers", json.dumps({"name": "会话客户"}),
                           content_type="application/json", HTTP_X_CSRFTOKEN=secret)
    assert response.status_code == 201


def test_session_reads_need_no_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.staff_b)
    response = client.get(f"{API}/customers")
    assert response.status_code == 200
    assert keys_of(world, response.json()["items"]) == {"B1"}


# --- list -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(ROLES_SEE))
def test_list_is_scoped_per_role_and_corp(world, other_world, role):
    response = as_user(getattr(world, role)).get(f"{API}/customers")
    assert response.status_code == 200
    assert keys_of(world, response.json()["items"]) == ROLES_SEE[role]


@pytest.mark.parametrize("role", list(ROLES_SEE))
def test_search_never_crosses_corp_or_scope(world, other_world, role):
    client = as_user(getattr(world, role))
    found = client.get(f"{API}/customers", {"q": "客户"}).json()["items"]
    assert keys_of(world, found) == ROLES_SEE[role]
    assert client.get(f"{API}/customers", {"q": "y客户"}).json()["items"] == []
    for key in {"A1", "A2", "B1", "M1"} - ROLES_SEE[role]:
        # by remark and by phone: rows outside the scope stay invisible
        assert client.get(f"{API}/customers", {"q": f"备注x{key}"}).json()["items"] == []
        phone = world.customers[key].phones[0]
        assert client.get(f"{API}/customers", {"q": phone}).json()["items"] == []


def test_list_row_shape(world):
    CustomerTagFactory(corp=world.corp, customer=world.customers["A1"], tag=world.tags["vip"])
    items = as_user(world.staff_a).get(f"{API}/customers").json()["items"]
    row = next(i for i in items if i["id"] == world.customers["A1"].pk)
    assert set(row) >= {"id", "external_userid", "unionid", "name", "avatar", "type", "gender",
                        "phones", "email", "birthday", "region", "company", "custom_fields",
                        "created_at", "updated_at", "tags", "follows"}
    assert row["tags"] == [{"id": world.tags["vip"].pk, "name": "VIP",
                            "group_id": world.tags["vip"].group_id, "group": "客户等级"}]
    (follow,) = row["follows"]
    assert follow["employee_id"] == world.employees["a"].pk
    assert follow["employee_name"] == "x销售甲"
    assert follow["remark"] == "备注xA1" and follow["state"] == "channel_a"
    assert follow["deleted_at"] is None


def test_list_has_no_query_per_row(world, django_assert_max_num_queries):
    for _i in range(20):
        customer = CustomerFactory(corp=world.corp)
        FollowFactory(corp=world.corp, customer=customer, employee=world.employees["a"])
        CustomerTagFactory(corp=world.corp, customer=customer, tag=world.tags["vip"])
    client = as_user(world.admin)
    client.get(f"{API}/customers")  # warm the session and user lookups
    with django_assert_max_num_queries(8):
        response = client.get(f"{API}/customers")
    assert len(response.json()["items"]) == 24


def test_list_filters(world, other_world):
    client = as_user(world.admin)
    vip = world.tags["vip"]
    CustomerTagFactory(corp=world.corp, customer=world.customers["A2"], tag=vip)

    def keys(**params):
        response = client.get(f"{API}/customers", params)
        assert response.status_code == 200, response.content
        return keys_of(world, response.json()["items"])

    assert keys(tag=vip.pk) == {"A2"}
    assert keys(owner=world.employees["b"].pk) == {"B1"}
    assert keys(state="channel_a") == {"A1", "A2"}
    today = timezone.localdate().isoformat()
    assert keys(added_from=today, added_to=today) == {"A1", "A2", "B1", "M1"}
    assert keys(added_to="2000-01-01") == set()
    # ids from the other corp match nothing instead of leaking
    assert keys(tag=other_world.tags["vip"].pk) == set()
    assert keys(owner=other_world.employees["a"].pk) == set()


def test_tag_filter_requires_every_tag(world):
    second = CustomerTagFactory(corp=world.corp, customer=world.customers["A1"],
                                tag__group__corp=world.corp).tag
    CustomerTagFactory(corp=world.corp, customer=world.customers["A1"], tag=world.tags["vip"])
    CustomerTagFactory(corp=world.corp, customer=world.customers["A2"], tag=world.tags["vip"])
    response = as_user(world.admin).get(f"{API}/customers?tag={world.tags['vip'].pk}"
                                        f"&tag={second.pk}")
    assert keys_of(world, response.json()["items"]) == {"A1"}


def test_manager_owner_filter_outside_scope_is_empty(world):
    response = as_user(world.manager).get(f"{API}/customers",
                                          {"owner": world.employees["b"].pk})
    assert response.json()["items"] == []


def test_include_lost_lets_follow_filters_match_ended_relations(world):
    follow = world.customers["B1"].follows.get()
    follow.deleted_at, follow.deleted_by = timezone.now(), "customer"
    follow.save()
    client = as_user(world.admin)
    assert client.get(f"{API}/customers", {"state": "channel_b"}).json()["items"] == []
    lost = client.get(f"{API}/customers", {"state": "channel_b", "include_lost": "true"})
    assert keys_of(world, lost.json()["items"]) == {"B1"}


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=201", "limit"), ("limit=abc", "limit"),
     ("cursor=not-a-cursor", "cursor"), ("cursor=aWQ6LTE", "cursor"), ("tag=abc", "tag"),
     ("owner=-3", "owner"), ("added_from=2024-13-01", "added_from"),
     ("added_from=2024-05-02&added_to=2024-05-01", "added_to"),
     ("include_lost=maybe", "include_lost"), ("q=%00", "q"), ("q=" + "x" * 101, "q")],
)
def test_bad_list_query_is_422_on_the_field(world, query, field):
    response = as_user(world.admin).get(f"{API}/customers?{query}")
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "validation_failed"
    assert list(body["fields"]) == [field]
    assert all(isinstance(m, str) and m for m in body["fields"][field])


def test_cursor_walks_every_row_exactly_once(world, other_world):
    for _i in range(11):
        customer = CustomerFactory(corp=world.corp)
        FollowFactory(corp=world.corp, customer=customer, employee=world.employees["a"])
    expected = {c.pk for c in Customer.objects.for_corp(world.corp)
                if c.follows.filter(employee=world.employees["a"]).exists()}
    client = as_user(world.staff_a)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/customers", params).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if pages == 1:
            # rows added while paging show up on a fresh walk, never shifting this one
            fresh = CustomerFactory(corp=world.corp)
            FollowFactory(corp=world.corp, customer=fresh, employee=world.employees["a"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(expected) == 13
    assert set(seen) == expected
    assert seen == sorted(seen, reverse=True)
    assert pages == 4


def test_last_full_page_has_no_next_cursor(world):
    page = as_user(world.staff_a).get(f"{API}/customers", {"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"] is None


# --- detail ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(ROLES_SEE))
def test_detail_is_404_outside_scope_and_corp(world, other_world, role):
    client = as_user(getattr(world, role))
    for key, customer in world.customers.items():
        response = client.get(f"{API}/customers/{customer.pk}")
        assert response.status_code == (200 if key in ROLES_SEE[role] else 404)
    for customer in other_world.customers.values():
        response = client.get(f"{API}/customers/{customer.pk}")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


def test_detail_shows_ended_follows_and_tags(world):
    customer = world.customers["A1"]
    FollowFactory(corp=world.corp, customer=customer, employee=world.employees["manager"],
                  deleted_at=timezone.now(), deleted_by="customer")
    CustomerTagFactory(corp=world.corp, customer=customer, tag=world.tags["vip"])
    body = as_user(world.admin).get(f"{API}/customers/{customer.pk}").json()
    assert body["name"] == "x客户A1"
    assert [t["name"] for t in body["tags"]] == ["VIP"]
    ended = [f for f in body["follows"] if f["deleted_at"]]
    assert [f["deleted_by"] for f in ended] == ["customer"]
    assert len(body["follows"]) == 2


@pytest.mark.parametrize("path", ["/customers/abc", "/customers/0",
                                  "/customers/99999999999999999999999"])
def test_bad_path_id_is_4xx_json(world, path):
    response = as_user(world.admin).get(f"{API}{path}")
    assert response.status_code in (404, 422)
    assert response.json()["error"] in ("not_found", "validation_failed")


# --- create ---------------------------------------------------------------------------------


def test_create_by_staff_is_followed_by_them(world):
    response = send(as_user(world.staff_a), "post", f"{API}/customers",
                    {"name": "新客户", "phones": ["13800000001"], "birthday": "1990-05-20",
                     "custom_fields": {"来源": "展会"}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "新客户" and body["birthday"] == "1990-05-20"
    assert [f["employee_id"] for f in body["follows"]] == [world.employees["a"].pk]
    assert as_user(world.staff_a).get(f"{API}/customers/{body['id']}").status_code == 200


def test_create_with_owner_in_scope(world):
    response = send(as_user(world.manager), "post", f"{API}/customers",
                    {"name": "分配客户", "owner_id": world.employees["a"].pk})
    assert response.status_code == 201
    assert [f["employee_id"] for f in response.json()["follows"]] == [world.employees["a"].pk]


@pytest.mark.parametrize("owner", ["b", "other_corp"])
def test_create_with_owner_outside_scope_writes_nothing(world, other_world, owner):
    owner_id = (other_world.employees["a"] if owner == "other_corp"
                else world.employees["b"]).pk
    before = db_state(world.corp)
    response = send(as_user(world.manager), "post", f"{API}/customers",
                    {"name": "越权客户", "owner_id": owner_id})
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["owner_id"]
    assert db_state(world.corp) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "坏电话", "phones": ["13800000001", "call me"]}, {"phones"}),
        ({"name": "坏电话", "phones": [13800000001]}, {"phones"}),
        ({"name": "坏生日", "birthday": "1990-02-30"}, {"birthday"}),
        ({"name": "未来生日", "birthday": "2999-01-01"}, {"birthday"}),
        ({"name": "坏邮箱", "email": "not-an-email"}, {"email"}),
        ({"name": "坏类型", "type": 7, "gender": "male"}, {"gender"}),
        ({"name": "坏类型", "type": 7}, {"type"}),
        ({"name": "", "company": "x" * 101}, {"name", "company"}),
        ({"phones": ["13800000001"]}, {"name"}),
        ({"name": "多余", "nickname": "x"}, {"nickname"}),
        ({"name": "坏字段", "custom_fields": {"k": {"nested": 1}}}, {"custom_fields"}),
    ],
)
def test_create_with_bad_input_writes_nothing(world, body, fields):
    before = db_state(world.corp)
    response = send(as_user(world.staff_a), "post", f"{API}/customers", body)
    assert response.status_code == 422, response.content
    payload = response.json()
    assert payload["error"] == "validation_failed"
    assert set(payload["fields"]) == fields
    assert db_state(world.corp) == before


@pytest.mark.parametrize("raw", ["{bad json", '{"name": NaN}', '{"name": "a\\u0000b"}',
                                 b"\xff\xfe"])
def test_unparseable_body_is_400_json(world, raw):
    before = db_state(world.corp)
    response = as_user(world.admin).post(f"{API}/customers", raw,
                                         content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request" and body["fields"]["body"]
    assert db_state(world.corp) == before


@pytest.mark.parametrize("raw", ["", "[1, 2]", '"text"', "null"])
def test_body_that_is_not_an_object_is_422(world, raw):
    response = as_user(world.admin).post(f"{API}/customers", raw,
                                         content_type="application/json")
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["body"]


# --- update ---------------------------------------------------------------------------------


def test_patch_changes_only_sent_fields(world):
    customer = world.customers["A1"]
    response = send(as_user(world.staff_a), "patch", f"{API}/customers/{customer.pk}",
                    {"company": "思域科技", "phones": ["13900001111"]})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.company == "思域科技" and customer.phones == ["13900001111"]
    assert customer.name == "x客户A1"


def test_patch_with_one_bad_field_changes_nothing(world):
    customer = world.customers["A1"]
    before = db_state(world.corp)
    response = send(as_user(world.staff_a), "patch", f"{API}/customers/{customer.pk}",
                    {"company": "新公司", "email": "nope"})
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["email"]
    assert db_state(world.corp) == before
    response = send(as_user(world.staff_a), "patch", f"{API}/customers/{customer.pk}",
                    {"company": "新公司", "birthday": "yesterday"})
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["birthday"]
    assert db_state(world.corp) == before


@pytest.mark.parametrize(("role", "key"), [("staff_a", "B1"), ("manager", "B1"),
                                           ("staff_b", "A1")])
def test_patch_outside_scope_is_404_and_writes_nothing(world, role, key):
    before = db_state(world.corp)
    response = send(as_user(getattr(world, role)), "patch",
                    f"{API}/customers/{world.customers[key].pk}", {"company": "入侵"})
    assert response.status_code == 404
    assert db_state(world.corp) == before


def test_patch_other_corp_is_404_and_writes_nothing(world, other_world):
    before = db_state(other_world.corp)
    response = send(as_user(world.admin), "patch",
                    f"{API}/customers/{other_world.customers['A1'].pk}", {"company": "入侵"})
    assert response.status_code == 404
    assert db_state(other_world.corp) == before


# --- tags -----------------------------------------------------------------------------------


def test_tag_and_untag(world):
    customer, vip = world.customers["A1"], world.tags["vip"]
    client = as_user(world.staff_a)
    response = send(client, "post", f"{API}/customers/{customer.pk}/tags", {"tag_ids": [vip.pk]})
    assert response.status_code == 200
    assert [t["id"] for t in response.json()["tags"]] == [vip.pk]
    again = send(client, "post", f"{API}/customers/{customer.pk}/tags", {"tag_ids": [vip.pk]})
    assert again.status_code == 200 and len(again.json()["tags"]) == 1
    response = client.delete(f"{API}/customers/{customer.pk}/tags/{vip.pk}")
    assert response.status_code == 200
    assert response.json()["tags"] == []
    assert not CustomerTag.objects.for_corp(world.corp).filter(customer=customer).exists()


@pytest.mark.parametrize("bad", ["unknown", "other_corp"])
def test_tag_with_an_unknown_tag_writes_nothing(world, other_world, bad):
    bad_id = other_world.tags["vip"].pk if bad == "other_corp" else 999_999
    before = db_state(world.corp)
    response = send(as_user(world.admin), "post",
                    f"{API}/customers/{world.customers['A1'].pk}/tags",
                    {"tag_ids": [world.tags["vip"].pk, bad_id]})
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert list(fields) == ["tag_ids"] and str(bad_id) in fields["tag_ids"][0]
    assert db_state(world.corp) == before


@pytest.mark.parametrize("body", [{"tag_ids": []}, {"tag_ids": "1"}, {"tag_ids": ["x"]}, {}])
def test_tag_with_bad_body_is_422(world, body):
    response = send(as_user(world.admin), "post",
                    f"{API}/customers/{world.customers['A1'].pk}/tags", body)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["tag_ids"]


def test_tag_outside_scope_is_404(world, other_world):
    before = db_state(world.corp)
    response = send(as_user(world.staff_a), "post",
                    f"{API}/customers/{world.customers['B1'].pk}/tags",
                    {"tag_ids": [world.tags["vip"].pk]})
    assert response.status_code == 404
    assert db_state(world.corp) == before


def test_untag_other_corp_tag_is_404(world, other_world):
    response = as_user(world.admin).delete(
        f"{API}/customers/{world.customers['A1'].pk}/tags/{other_world.tags['vip'].pk}")
    assert response.status_code == 404


# --- merge ----------------------------------------------------------------------------------


def test_merge(world):
    primary, duplicate = world.customers["A1"], world.customers["A2"]
    response = send(as_user(world.manager), "post", f"{API}/customers/{primary.pk}/merge",
                    {"duplicate_id": duplicate.pk})
    assert response.status_code == 200, response.content
    assert set(response.json()["phones"]) == {*primary.phones, *duplicate.phones}
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == primary.pk
    listed = as_user(world.manager).get(f"{API}/customers").json()["items"]
    assert duplicate.pk not in {item["id"] for item in listed}


def test_merge_needs_permission(world):
    before = db_state(world.corp)
    response = send(as_user(world.staff_a), "post",
                    f"{API}/customers/{world.customers['A1'].pk}/merge",
                    {"duplicate_id": world.customers["A2"].pk})
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert db_state(world.corp) == before


@pytest.mark.parametrize("duplicate", ["B1", "other_corp", "self"])
def test_merge_with_invisible_duplicate_writes_nothing(world, other_world, duplicate):
    primary = world.customers["A1"]
    dup_id = {"B1": world.customers["B1"].pk, "other_corp": other_world.customers["A1"].pk,
              "self": primary.pk}[duplicate]
    before = db_state(world.corp), db_state(other_world.corp)
    response = send(as_user(world.manager), "post", f"{API}/customers/{primary.pk}/merge",
                    {"duplicate_id": dup_id})
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["duplicate_id"]
    assert (db_state(world.corp), db_state(other_world.corp)) == before


# --- timeline -------------------------------------------------------------------------------


def test_timeline(world):
    customer = world.customers["A1"]
    client = as_user(world.staff_a)
    send(client, "patch", f"{API}/customers/{customer.pk}", {"company": "一"})
    send(client, "patch", f"{API}/customers/{customer.pk}", {"company": "二"})
    items = client.get(f"{API}/customers/{customer.pk}/timeline").json()["items"]
    assert [i["kind"] for i in items] == ["updated", "updated"]
    assert items[0]["actor"] == world.staff_a.username
    limited = client.get(f"{API}/customers/{customer.pk}/timeline", {"limit": 1}).json()
    assert len(limited["items"]) == 1


@pytest.mark.parametrize("role", list(ROLES_SEE))
def test_timeline_is_404_outside_scope_and_corp(world, other_world, role):
    client = as_user(getattr(world, role))
    for key, customer in world.customers.items():
        response = client.get(f"{API}/customers/{customer.pk}/timeline")
        assert response.status_code == (200 if key in ROLES_SEE[role] else 404)
    response = client.get(f"{API}/customers/{other_world.customers['A1'].pk}/timeline")
    assert response.status_code == 404


# --- OpenAPI --------------------------------------------------------------------------------


def test_openapi_lists_the_paths(db):
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/v1/customers", "/api/v1/customers/{customer_id}",
                 "/api/v1/customers/{customer_id}/tags",
                 "/api/v1/customers/{customer_id}/tags/{tag_id}",
                 "/api/v1/customers/{customer_id}/merge",
                 "/api/v1/customers/{customer_id}/timeline", "/api/v1/customers/export",
                 "/api/v1/tag-groups", "/api/v1/tag-groups/{group_id}",
                 "/api/v1/tag-groups/{group_id}/tags", "/api/v1/tags", "/api/v1/tags/{tag_id}",
                 "/api/v1/employees", "/api/v1/employees/{employee_id}", "/api/v1/departments"]:
        assert path in paths, path
    assert set(paths["/api/v1/customers"]) == {"get", "post"}
    schemes = response.json()["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    assert Client().get("/api/docs").status_code == 200
