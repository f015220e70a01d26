import json

import pytest
from django.test import Client

from siyu.accounts.services import api_token_create
from siyu.customers.models import CustomerTag
from siyu.customers.tests.factories import CustomerTagFactory, TagFactory
from siyu.tags.models import Tag, TagGroup

API = "/api/v1"
ROLES = ["admin", "manager", "staff_a", "staff_b"]


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(client, method, url, body):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def tag_state(corp) -> tuple:
    return (sorted(TagGroup.objects.for_corp(corp).values_list("id", "name", "order")),
            sorted(Tag.objects.for_corp(corp).values_list("id", "group_id", "name", "order")),
            CustomerTag.objects.for_corp(corp).count())


@pytest.fixture
def second_tag(world):
    return TagFactory(corp=world.corp, group=world.tags["vip"].group, name="普通", order=1)


@pytest.mark.parametrize("role", ROLES)
def test_tag_groups_list_only_own_corp(world, other_world, second_tag, role):
    response = as_user(getattr(world, role)).get(f"{API}/tag-groups")
    assert response.status_code == 200
    (group,) = response.json()
    assert group["id"] == world.tags["vip"].group_id and group["name"] == "客户等级"
    assert [t["name"] for t in group["tags"]] == ["VIP", "普通"]


@pytest.mark.parametrize("role", ROLES)
def test_tags_list_only_own_corp(world, other_world, second_tag, role):
    response = as_user(getattr(world, role)).get(f"{API}/tags")
    assert response.status_code == 200
    assert {t["id"] for t in response.json()} == {world.tags["vip"].pk, second_tag.pk}
    assert {t["group"] for t in response.json()} == {"客户等级"}


def test_lists_need_credentials(world):
    assert Client().get(f"{API}/tags").status_code == 401
    assert Client().get(f"{API}/tag-groups").status_code == 401


def test_bearer_token_lists_its_corp(world, other_world):
    token = api_token_create(corp=other_world.corp, username=other_world.staff_a.username)
    response = Client().get(f"{API}/tags", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert [t["id"] for t in response.json()] == [other_world.tags["vip"].pk]


def test_create_group_with_tags(world):
    response = send(as_user(world.admin), "post", f"{API}/tag-groups",
                    {"name": "行业", "order": 2, "tag_names": ["教育", "医疗"]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "行业" and body["order"] == 2
    assert [t["name"] for t in body["tags"]] == ["教育", "医疗"]
    assert TagGroup.objects.for_corp(world.corp).filter(name="行业").exists()


@pytest.mark.parametrize("role", ["manager", "staff_a"])
def test_only_tag_managers_change_tags(world, second_tag, role):
    client = as_user(getattr(world, role))
    group, tag = world.tags["vip"].group, world.tags["vip"]
    before = tag_state(world.corp)
    attempts = [
        send(client, "post", f"{API}/tag-groups", {"name": "新组"}),
        send(client, "patch", f"{API}/tag-groups/{group.pk}", {"name": "改名"}),
        client.delete(f"{API}/tag-groups/{group.pk}"),
        send(client, "post", f"{API}/tag-groups/{group.pk}/tags", {"name": "新标签"}),
        send(client, "patch", f"{API}/tags/{tag.pk}", {"name": "改名"}),
        client.delete(f"{API}/tags/{tag.pk}"),
    ]
    assert [r.status_code for r in attempts] == [403] * 6
    assert {r.json()["error"] for r in attempts} == {"permission_denied"}
    assert tag_state(world.corp) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [({"name": ""}, {"name"}), ({"name": "长" * 31}, {"name"}),
     ({"name": "组", "tag_names": ["甲", "甲"]}, {"tag_names"}),
     ({"name": "组", "tag_names": ["甲", ""]}, {"tag_names"}),
     ({"name": "组", "order": "first"}, {"order"}), ({"name": "组", "order": 2**40}, {"order"}),
     ({"tag_names": ["甲"]}, {"name"}), ({"name": "组", "colour": "red"}, {"colour"})],
)
def test_create_group_with_bad_input_writes_nothing(world, body, fields):
    before = tag_state(world.corp)
    response = send(as_user(world.admin), "post", f"{API}/tag-groups", body)
    assert response.status_code == 422, response.content
    assert set(response.json()["fields"]) == fields
    assert tag_state(world.corp) == before


def test_duplicate_group_name_is_409(world):
    before = tag_state(world.corp)
    response = send(as_user(world.admin), "post", f"{API}/tag-groups", {"name": "客户等级"})
    assert response.status_code == 409
    assert list(response.json()["fields"]) == ["name"]
    assert tag_state(world.corp) == before


def test_update_and_delete_group(world, second_tag):
    client = as_user(world.admin)
    group = world.tags["vip"].group
    response = send(client, "patch", f"{API}/tag-groups/{group.pk}", {"order": 5})
    assert response.status_code == 200
    assert response.json()["name"] == "客户等级" and response.json()["order"] == 5
    response = send(client, "post", f"{API}/tag-groups/{group.pk}/tags", {"name": "新标签"})
    assert response.status_code == 201
    assert response.json()["group_id"] == group.pk
    assert client.delete(f"{API}/tag-groups/{group.pk}").status_code == 204
    assert not Tag.objects.for_corp(world.corp).exists()


def test_group_rename_with_bad_name_changes_nothing(world):
    group = world.tags["vip"].group
    before = tag_state(world.corp)
    response = send(as_user(world.admin), "patch", f"{API}/tag-groups/{group.pk}",
                    {"name": "  ", "order": 9})
    assert response.status_code == 422
    assert tag_state(world.corp) == before


def test_other_corp_groups_and_tags_are_404(world, other_world):
    client = as_user(world.admin)
    group, tag = other_world.tags["vip"].group, other_world.tags["vip"]
    before = tag_state(other_world.corp)
    attempts = [
        send(client, "patch", f"{API}/tag-groups/{group.pk}", {"name": "入侵"}),
        client.delete(f"{API}/tag-groups/{group.pk}"),
        send(client, "post", f"{API}/tag-groups/{group.pk}/tags", {"name": "入侵"}),
        send(client, "patch", f"{API}/tags/{tag.pk}", {"name": "入侵"}),
        client.delete(f"{API}/tags/{tag.pk}"),
    ]
    assert [r.status_code for r in attempts] == [404] * 5
    assert {r.json()["error"] for r in attempts} == {"not_found"}
    assert tag_state(other_world.corp) == before


def test_update_and_delete_tag(world, second_tag):
    client = as_user(world.admin)
    CustomerTagFactory(corp=world.corp, customer=world.customers["A1"], tag=second_tag)
    response = send(client, "patch", f"{API}/tags/{second_tag.pk}", {"name": "一般"})
    assert response.status_code == 200 and response.json()["name"] == "一般"
    clash = send(client, "patch", f"{API}/tags/{second_tag.pk}", {"name": "VIP"})
    assert clash.status_code == 409
    assert client.delete(f"{API}/tags/{second_tag.pk}").status_code == 204
    assert not CustomerTag.objects.for_corp(world.corp).exists()


def test_new_tag_in_group_with_bad_name_writes_nothing(world):
    group = world.tags["vip"].group
    before = tag_state(world.corp)
    response = send(as_user(world.admin), "post", f"{API}/tag-groups/{group.pk}/tags",
                    {"name": "VIP"})
    assert response.status_code == 409
    response = send(as_user(world.admin), "post", f"{API}/tag-groups/{group.pk}/tags",
                    {"name": None})
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["name"]
    assert tag_state(world.corp) == before
