"""Console pages of group live codes: what each role sees (cross-tenant and cross-role on every
list and detail path), the ordered group picker, create/edit/disable through the simulator,
the QR image, and field errors with nothing written."""

import pytest
from django.urls import reverse

from siyu.acquisition.group_codes.selectors import group_code_get_for, group_codes_for
from siyu.acquisition.models import GroupCode, GroupCodeGroup
from siyu.core.errors import NotFound
from siyu.groups.tests.factories import CustomerGroupFactory
from siyu.wecom.simulator.testing import running_simulator


@pytest.fixture(autouse=True)
def english(client, settings):
    settings.LANGUAGE_CODE = "en"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def make_code(corp, name, groups, **fields) -> GroupCode:
    code = GroupCode.objects.create(corp=corp, name=name, state=f"gc_{name}",
                                    wecom_config_id=f"cfg-{name}", **fields)
    for order, group in enumerate(groups):
        GroupCodeGroup.objects.create(corp=corp, group_code=code, group=group, order=order)
    return code


@pytest.fixture
def codes(world, other_world):
    """world: "both" over staff_a's and staff_b's groups, "b_only" over staff_b's group;
    other_world: "foreign"."""
    emp = world.employees
    group_a = CustomerGroupFactory(corp=world.corp, owner=emp["a"], name="甲的群", member_count=150)
    group_b = CustomerGroupFactory(corp=world.corp, owner=emp["b"], name="乙的群", member_count=200)
    foreign_group = CustomerGroupFactory(corp=other_world.corp, owner=other_world.employees["a"],
                                         name="外企群")
    return {"both": make_code(world.corp, "both", [group_a, group_b]),
            "b_only": make_code(world.corp, "b_only", [group_b]),
            "foreign": make_code(other_world.corp, "foreign", [foreign_group]),
            "group_a": group_a, "group_b": group_b}


@pytest.mark.parametrize(("who", "expected"), [
    ("admin", {"both", "b_only"}), ("manager", {"both", "b_only"}),
    ("staff_a", {"both"}), ("staff_b", {"both", "b_only"}),
])
def test_selector_scope_per_role(world, codes, who, expected):
    assert {c.name for c in group_codes_for(getattr(world, who))} == expected


def test_get_for_refuses_other_corps_and_other_roles(world, other_world, codes):
    with pytest.raises(NotFound):
        group_code_get_for(world.admin, codes["foreign"].pk)
    with pytest.raises(NotFound):
        group_code_get_for(world.staff_a, codes["b_only"].pk)
    with pytest.raises(NotFound):
        group_code_get_for(other_world.admin, codes["both"].pk)
    with pytest.raises(NotFound):
        group_code_get_for(world.admin, "nope")


@pytest.mark.parametrize(("who", "shown", "hidden"), [
    ("admin", ["both", "b_only"], ["foreign"]),
    ("staff_a", ["both"], ["b_only", "foreign"]),
    ("staff_b", ["both", "b_only"], ["foreign"]),
])
def test_list_page_per_role_and_tenant(client, world, codes, who, shown, hidden):
    client.force_login(getattr(world, who))
    response = client.get(reverse("acquisition:group_codes"))
    assert response.status_code == 200
    page = response.content.decode()
    for name in shown:
        assert reverse("acquisition:group_code_detail", args=[codes[name].pk]) in page
    for name in hidden:
        assert reverse("acquisition:group_code_detail", args=[codes[name].pk]) not in page
    assert "外企群" not in page
    if who == "staff_a":
        assert "乙的群" not in page  # a group of the code the role cannot see
    assert ("New group code" in page) == (who == "admin")


def test_list_shows_fill_bars(client, world, codes):
    client.force_login(world.admin)
    page = client.get(reverse("acquisition:group_codes")).content.decode()
    assert '<meter min="0" max="200" value="150"' in page
    assert "150 / 200 members" in page


@pytest.mark.parametrize(("who", "name", "status"), [
    ("admin", "both", 200), ("admin", "foreign", 404), ("manager", "b_only", 200),
    ("staff_a", "both", 200), ("staff_a", "b_only", 404), ("staff_b", "b_only", 200),
])
def test_detail_page_per_role_and_tenant(client, world, codes, who, name, status):
    client.force_login(getattr(world, who))
    response = client.get(reverse("acquisition:group_code_detail", args=[codes[name].pk]))
    assert response.status_code == status
    if status == 200 and who == "staff_a":
        page = response.content.decode()
        assert "甲的群" in page and "乙的群" not in page


@pytest.mark.parametrize("who", ["admin", "staff_a"])
def test_qr_of_another_corp_or_outside_the_role_is_404(client, world, codes, who):
    client.force_login(getattr(world, who))
    target = codes["foreign"] if who == "admin" else codes["b_only"]
    response = client.get(reverse("acquisition:group_code_qr", args=[target.pk]))
    assert response.status_code == 404


def test_qr_failure_explains_why_on_a_page_with_the_way_back(client, world, codes):
    code = codes["both"]
    GroupCode.objects.for_corp(world.corp).filter(pk=code.pk).update(
        qr_code="https://example.com/qr.png")
    client.force_login(world.admin)
    response = client.get(reverse("acquisition:group_code_qr", args=[code.pk]), {"download": 1})
    assert response.status_code == 502
    assert "not a WeCom address" in response.text
    assert reverse("acquisition:group_code_detail", args=[code.pk]) in response.text


@pytest.mark.parametrize("url_name", ["group_code_edit", "group_code_disable"])
def test_staff_cannot_manage(client, world, codes, url_name):
    client.force_login(world.staff_a)
    url = reverse(f"acquisition:{url_name}", args=[codes["both"].pk])
    assert client.post(url, {"name": "x"}).status_code == 403
    assert client.get(reverse("acquisition:group_code_create")).status_code == 403
    assert GroupCode.objects.for_corp(world.corp).get(pk=codes["both"].pk).name == "both"


def test_manage_paths_of_another_corp_are_404(client, world, codes):
    client.force_login(world.admin)
    for url_name in ("group_code_edit", "group_code_disable"):
        url = reverse(f"acquisition:{url_name}", args=[codes["foreign"].pk])
        assert client.post(url, {"name": "x"}).status_code == 404
    assert GroupCode.objects.for_corp(codes["foreign"].corp).get(
        pk=codes["foreign"].pk).status == "active"


def test_anonymous_is_sent_to_login(client, codes):
    response = client.get(reverse("acquisition:group_codes"))
    assert response.status_code == 302 and "login" in response["Location"]


# -- writes through the simulator --------------------------------------------------------------

@pytest.fixture
def sim(world, settings):
    settings.SIYU_WECOM_RETRY_BASE_SECONDS = 0.01
    with running_simulator(corp_id=world.corp.corp_id, seed=3, employees=2, customers=0,
                           groups=0) as running:
        world.corp.api_base_url = running.base_url
        world.corp.contact_secret = running.config.contact_secret
        world.corp.save()
        yield running


@pytest.fixture
def sim_groups(world, sim):
    made = []
    for number in range(3):
        chat_id = sim.control.create_group(name=f"直播群{number}")["chat_id"]
        made.append(CustomerGroupFactory(corp=world.corp, chat_id=chat_id,
                                         name=f"直播群{number}", member_count=1))
    return made


def join_ways(sim) -> list[dict]:
    return sim.control.contact_ways()["join_ways"]


def test_picker_adds_reorders_and_removes_without_saving(client, world, sim, sim_groups):
    client.force_login(world.admin)
    url = reverse("acquisition:group_code_create")
    g0, g1, g2 = sim_groups
    page = client.get(url).content.decode()
    assert "直播群0" in page and "No groups chosen yet." in page

    response = client.post(url, {"name": "Fans", "group_ids": [g0.pk], "add_group": g2.pk,
                                 "op": "add"})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index(f'name="group_ids" value="{g0.pk}"') < page.index(
        f'name="group_ids" value="{g2.pk}"')
    assert 'value="Fans"' in page

    response = client.post(url, {"name": "Fans", "group_ids": [g0.pk, g2.pk, g1.pk],
                                 "op": "up:1"})
    page = response.content.decode()
    order = sorted((page.index(f'name="group_ids" value="{g.pk}"'), g.name)
                   for g in (g0, g1, g2))
    assert [name for _i, name in order] == ["直播群2", "直播群0", "直播群1"]

    response = client.post(url, {"name": "Fans", "group_ids": [g0.pk, g2.pk], "op": "remove:0"})
    page = response.content.decode()
    assert f'name="group_ids" value="{g0.pk}"' not in page
    assert f'name="group_ids" value="{g2.pk}"' in page
    assert not GroupCode.objects.for_corp(world.corp).exists()
    assert join_ways(sim) == []


def test_create_edit_and_disable_through_the_console(client, world, sim, sim_groups):
    client.force_login(world.admin)
    g0, g1, g2 = sim_groups
    response = client.post(reverse("acquisition:group_code_create"), {
        "name": "Live fans", "group_ids": [g1.pk, g0.pk], "member_limit": "3",
        "welcome_text": "欢迎 %NICKNAME%", "welcome_kind": "link",
        "welcome_title": "入群礼", "welcome_url": "https://e.test/gift",
        "expires_at": "2099-01-01T10:00"})
    assert response.status_code == 302
    code = GroupCode.objects.for_corp(world.corp).get()
    assert response["Location"] == reverse("acquisition:group_code_detail", args=[code.pk])
    assert code.member_limit == 3 and code.expires_at.year == 2099
    assert code.welcome_attachment == {"msgtype": "link",
                                       "link": {"title": "入群礼", "url": "https://e.test/gift"}}
    [way] = join_ways(sim)
    assert way["chat_id_list"] == [g1.chat_id, g0.chat_id]
    [template] = sim.control.templates()["group_welcome_templates"]
    assert template["link"]["title"] == "入群礼"

    detail = client.get(response["Location"]).content.decode()
    assert "Live fans" in detail and reverse("acquisition:group_code_qr", args=[code.pk]) in detail
    qr = client.get(reverse("acquisition:group_code_qr", args=[code.pk]))
    assert qr.status_code == 200 and qr["Content-Type"] == "image/png"
    assert qr.content.startswith(b"\x89PNG")

    edit_url = reverse("acquisition:group_code_edit", args=[code.pk])
    form = client.get(edit_url).content.decode()
    assert 'value="Live fans"' in form and 'value="2099-01-01T10:00"' in form
    response = client.post(edit_url, {"name": "Live fans 2", "group_ids": [g2.pk],
                                      "auto_create_room": "on", "room_base_name": "新粉丝群",
                                      "room_base_id": "7"})
    assert response.status_code == 302
    code.refresh_from_db()
    assert (code.name, code.room_base_name, code.room_base_id) == ("Live fans 2", "新粉丝群", 7)
    [way] = join_ways(sim)
    assert way["chat_id_list"] == [g2.chat_id] and way["auto_create_room"] == 1
    assert sim.control.templates()["group_welcome_templates"] == []

    response = client.post(reverse("acquisition:group_code_disable", args=[code.pk]))
    assert response.status_code == 302
    code.refresh_from_db()
    assert code.status == "disabled" and join_ways(sim) == []
    assert client.get(edit_url).status_code == 302  # disabled codes are not edited


@pytest.mark.parametrize(("posted", "field_message"), [
    ({"name": ""}, "Required."),
    ({"auto_create_room": "on", "room_base_name": ""}, "Give the name of the groups"),
    ({"welcome_kind": "link", "welcome_title": "no url"}, "url is required"),
    ({"expires_at": "next tuesday"}, "Give a date and time"),
    ({"member_limit": "0"}, "Give a whole number from 1 to 500."),
])
def test_bad_input_shows_the_form_again_and_writes_nothing(client, world, sim, sim_groups,
                                                           posted, field_message):
    client.force_login(world.admin)
    data = {"name": "Fans", "group_ids": [sim_groups[0].pk]} | posted
    response = client.post(reverse("acquisition:group_code_create"), data)
    assert response.status_code == 422
    assert field_message in response.content.decode()
    assert not GroupCode.objects.for_corp(world.corp).exists()
    assert join_ways(sim) == []
    assert sim.control.templates()["group_welcome_templates"] == []


def test_wecom_refusal_is_shown_and_nothing_saved(client, world, sim, sim_groups):
    client.force_login(world.admin)
    sim.control.inject_faults("externalcontact/groupchat/add_join_way", errcode=40058)
    response = client.post(reverse("acquisition:group_code_create"),
                           {"name": "Fans", "group_ids": [sim_groups[0].pk]})
    assert response.status_code == 409
    assert "40058" in response.content.decode()
    assert not GroupCode.objects.for_corp(world.corp).exists()
