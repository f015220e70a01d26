"""Console pages for customer groups: scope by owner, no leaks across enterprises or scopes."""

import pytest
from django.urls import reverse

from siyu.groups.models import CustomerGroup, GroupMember, GroupMemberEvent
from siyu.groups.tests.factories import (
    CustomerGroupFactory,
    GroupMemberEventFactory,
    GroupMemberFactory,
)


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def make_groups(world) -> dict:
    groups = {key: CustomerGroupFactory(corp=world.corp, owner=world.employees[owner],
                                        name=f"{world.corp.corp_id}-{key}群", member_count=2)
              for key, owner in (("A", "a"), ("B", "b"), ("M", "manager"))}
    group = groups["A"]
    GroupMemberFactory(group=group, member_type=GroupMember.Type.EMPLOYEE,
                       userid=world.employees["a"].userid)
    for key in ("A1", "B1"):
        customer = world.customers[key]
        GroupMemberFactory(group=group, userid=customer.external_userid, customer=customer,
                           name=f"昵称{key}")
        GroupMemberEventFactory(group=group, userid=customer.external_userid,
                                customer=customer, name=f"昵称{key}", scene=3)
    return groups


@pytest.fixture
def groups(world, other_world):
    make_groups(other_world)
    return make_groups(world)


def names_on(client, user, url=None, **params) -> str:
    client.force_login(user)
    response = client.get(url or reverse("groups:list"), params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("who,visible", [
    ("admin", {"A", "B", "M"}), ("manager", {"A", "M"}), ("staff_a", {"A"}),
    ("staff_b", {"B"}),
])
def test_list_shows_the_groups_in_the_users_scope_only(client, world, groups, who, visible):
    html = names_on(client, getattr(world, who))
    for key, group in groups.items():
        assert (group.name in html) == (key in visible), key
    assert "ywwycorp" not in html and "y企业" not in html  # never another enterprise's


def test_detail_outside_scope_or_enterprise_is_404(client, world, other_world, groups):
    other_group = CustomerGroup.objects.for_corp(other_world.corp).first()
    client.force_login(world.admin)
    assert client.get(reverse("groups:detail", args=[other_group.pk])).status_code == 404
    client.force_login(world.staff_a)
    assert client.get(reverse("groups:detail", args=[groups["B"].pk])).status_code == 404
    assert client.get(reverse("groups:detail", args=[groups["A"].pk])).status_code == 200
    client.force_login(world.manager)
    assert client.get(reverse("groups:detail", args=[groups["B"].pk])).status_code == 404


def test_detail_links_only_customers_the_user_may_see(client, world, groups):
    url = reverse("groups:detail", args=[groups["A"].pk])
    html = names_on(client, world.staff_a, url)
    a1, b1 = world.customers["A1"], world.customers["B1"]
    assert reverse("customers:detail", args=[a1.pk]) in html
    assert reverse("customers:detail", args=[b1.pk]) not in html  # staff_a cannot see B1
    assert "昵称B1" in html and b1.name not in html  # the group nickname, not Siyu's record
    assert world.employees["a"].name in html
    assert "Scanned the QR code" in html and "Joined" in html
    admin_html = names_on(client, world.admin, url)
    assert reverse("customers:detail", args=[b1.pk]) in admin_html


def test_search_and_status_filter(client, world, groups):
    groups["B"].status = "dismissed"
    groups["B"].save()
    html = names_on(client, world.admin, q="-A群")
    assert groups["A"].name in html and groups["M"].name not in html
    html = names_on(client, world.admin, q=world.employees["manager"].name)
    assert groups["M"].name in html and groups["A"].name not in html
    html = names_on(client, world.admin, status="dismissed")
    assert groups["B"].name in html and groups["A"].name not in html
    html = names_on(client, world.admin, q="nothing like this")
    assert "No groups match these filters." in html


def test_htmx_search_returns_the_results_partial(client, world, groups):
    client.force_login(world.admin)
    response = client.get(reverse("groups:list"), {"q": "群"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and groups["A"].name in html


def test_anonymous_users_are_sent_to_sign_in(client, db):
    response = client.get(reverse("groups:list"))
    assert response.status_code == 302 and reverse("console:login") in response["Location"]


def test_history_lists_joins_and_quits(client, world, groups):
    GroupMemberEventFactory(group=groups["A"], userid=world.customers["A1"].external_userid,
                            customer=world.customers["A1"], kind=GroupMemberEvent.Kind.QUIT,
                            scene=1, name="昵称A1")
    html = names_on(client, world.staff_a, reverse("groups:detail", args=[groups["A"].pk]))
    assert "Removed by the owner or an admin" in html and "Left" in html


def test_pages_read_in_chinese(client, world, groups):
    client.force_login(world.staff_a)
    chinese = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
    html = client.get(reverse("groups:list"), **chinese).content.decode()
    assert "客户群" in html and "群主" in html and "Owner" not in html
    html = client.get(reverse("groups:detail", args=[groups["A"].pk]), **chinese).content.decode()
    assert "入群与退群" in html and "扫描群二维码" in html and "Members" not in html
