"""Group live code writes against the WeCom simulator over HTTP: the join way lists the next
groups below the limit with the code's state, the group welcome template follows the code's
welcome, disable deletes both; bad input and WeCom refusals write nothing locally or in WeCom."""

from datetime import timedelta

import pytest
from django.utils import timezone

from siyu.accounts.tests.factories import CorpFactory, UserFactory
from siyu.acquisition.group_codes.services import (
    group_code_create,
    group_code_disable,
    group_code_update,
)
from siyu.acquisition.models import GroupCode, GroupCodeGroup
from siyu.core.errors import Conflict, PermissionDenied, ValidationFailed
from siyu.core.models import AuditLog
from siyu.groups.tests.factories import CustomerGroupFactory
from siyu.wecom.simulator.testing import running_simulator
from tests.fixtures import corp_on_simulator

LINK = {"msgtype": "link", "link": {"title": "入群礼", "url": "https://e.test/gift"}}


@pytest.fixture(scope="module")
def sim():
    with running_simulator(seed=9, employees=3, customers=0, groups=0) as running:
        yield running


@pytest.fixture
def corp(db, sim, settings):
    return corp_on_simulator(sim, settings)


@pytest.fixture
def admin(corp):
    return UserFactory(corp=corp, role="admin")


@pytest.fixture
def groups(corp, sim):
    """Six groups that exist in the simulator (owner only) and locally."""
    made = []
    for number in range(6):
        chat_id = sim.control.create_group(name=f"粉丝群{number}")["chat_id"]
        made.append(CustomerGroupFactory(corp=corp, chat_id=chat_id, name=f"粉丝群{number}",
                                         member_count=1))
    return made


def join_ways(sim) -> dict:
    return {w["config_id"]: w for w in sim.control.contact_ways()["join_ways"]}


def templates(sim) -> dict:
    return {t["template_id"]: t for t in sim.control.templates()["group_welcome_templates"]}


def create(corp, admin, groups, **overrides):
    options = {"name": "Live stream fans", "group_ids": [g.pk for g in groups[:3]]}
    return group_code_create(corp=corp, actor=admin, **(options | overrides))


def test_create_pushes_a_join_way_over_the_groups_in_order(corp, admin, groups, sim):
    code = create(corp, admin, groups, group_ids=[groups[2].pk, groups[0].pk, groups[1].pk])
    way = join_ways(sim)[code.wecom_config_id]
    assert way["chat_id_list"] == [groups[2].chat_id, groups[0].chat_id, groups[1].chat_id]
    assert way["state"] == code.state and code.state.startswith("gc_")
    assert len(code.state) <= 30
    assert way["auto_create_room"] == 0 and way["scene"] == 2
    assert code.qr_code == way["qr_code"]
    assert code.member_limit == 200  # SIYU_GROUP_CODE_MEMBER_LIMIT's default
    assert list(code.entries.values_list("group_id", flat=True)) == [
        groups[2].pk, groups[0].pk, groups[1].pk]
    assert code.wecom_template_id == ""
    assert AuditLog.objects.for_corp(corp).filter(action="group_code.create").count() == 1


def test_only_five_groups_below_the_limit_are_listed(corp, admin, groups, sim):
    groups[1].member_count = 3
    groups[1].save()
    code = create(corp, admin, groups, group_ids=[g.pk for g in groups], member_limit=3)
    assert join_ways(sim)[code.wecom_config_id]["chat_id_list"] == [
        g.chat_id for g in (groups[0], *groups[2:])]
    assert code.wecom_chat_ids == [g.chat_id for g in (groups[0], *groups[2:])]


def test_limit_default_comes_from_the_setting(corp, admin, groups, settings):
    settings.SIYU_GROUP_CODE_MEMBER_LIMIT = 150
    assert create(corp, admin, groups).member_limit == 150


def test_auto_create_room_options_reach_wecom(corp, admin, groups, sim):
    code = create(corp, admin, groups, auto_create_room=True, room_base_name="直播粉丝群",
                  room_base_id=10)
    way = join_ways(sim)[code.wecom_config_id]
    assert (way["auto_create_room"], way["room_base_name"], way["room_base_id"]) == (
        1, "直播粉丝群", 10)


def test_welcome_template_created_edited_and_deleted(corp, admin, groups, sim):
    code = create(corp, admin, groups, welcome_text="欢迎 %NICKNAME% 入群", welcome_attachment=LINK)
    template = templates(sim)[code.wecom_template_id]
    assert template["text"] == {"content": "欢迎 %NICKNAME% 入群"}
    assert template["link"] == LINK["link"]

    group_code_update(corp=corp, actor=admin, group_code=code, name=code.name,
                      group_ids=[groups[0].pk], welcome_text="新的欢迎语",
                      welcome_attachment={"msgtype": "image",
                                          "image": {"pic_url": "https://e.test/a.png"}})
    template = templates(sim)[code.wecom_template_id]
    assert template["text"] == {"content": "新的欢迎语"} and "link" not in template
    assert template["image"] == {"pic_url": "https://e.test/a.png"}

    template_id = code.wecom_template_id
    group_code_update(corp=corp, actor=admin, group_code=code, name=code.name,
                      group_ids=[groups[0].pk])
    assert template_id not in templates(sim)
    code.refresh_from_db()
    assert code.wecom_template_id == "" and code.welcome_text == ""


def test_update_repoints_the_join_way(corp, admin, groups, sim):
    code = create(corp, admin, groups)
    group_code_update(corp=corp, actor=admin, group_code=code, name="Renamed",
                      group_ids=[groups[4].pk, groups[3].pk], member_limit=50,
                      auto_create_room=True, room_base_name="新群")
    way = join_ways(sim)[code.wecom_config_id]
    assert way["chat_id_list"] == [groups[4].chat_id, groups[3].chat_id]
    assert way["remark"] == "Renamed" and way["auto_create_room"] == 1
    code.refresh_from_db()
    assert (code.name, code.member_limit, code.room_base_name) == ("Renamed", 50, "新群")
    assert list(code.entries.values_list("group_id", flat=True)) == [groups[4].pk,
                                                                     groups[3].pk]
    entry = AuditLog.objects.for_corp(corp).get(action="group_code.update")
    assert entry.changes["name"] == ["Live stream fans", "Renamed"]


def test_disable_deletes_join_way_and_template(corp, admin, groups, sim):
    code = create(corp, admin, groups, welcome_text="欢迎")
    group_code_disable(corp=corp, actor=admin, group_code=code)
    assert code.wecom_config_id not in join_ways(sim)
    assert code.wecom_template_id not in templates(sim)
    code.refresh_from_db()
    assert code.status == "disabled"
    group_code_disable(corp=corp, actor=admin, group_code=code)  # again: nothing to do
    assert AuditLog.objects.for_corp(corp).filter(action="group_code.disable").count() == 1
    with pytest.raises(Conflict):
        group_code_update(corp=corp, actor=admin, group_code=code, name="x",
                          group_ids=[groups[0].pk])


def test_disable_tolerates_a_join_way_already_gone(corp, admin, groups, sim):
    code = create(corp, admin, groups)
    from siyu.wecom.client import sync_client_for

    sync_client_for(corp).del_join_way(code.wecom_config_id)
    group_code_disable(corp=corp, actor=admin, group_code=code)
    assert GroupCode.objects.for_corp(corp).get(pk=code.pk).status == "disabled"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": "  "}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"group_ids": []}, "group_ids"),
    ({"group_ids": [999_999]}, "group_ids"),
    ({"group_ids": ["abc"]}, "group_ids"),
    ({"member_limit": 0}, "member_limit"),
    ({"member_limit": 501}, "member_limit"),
    ({"member_limit": "many"}, "member_limit"),
    ({"auto_create_room": True, "room_base_name": ""}, "room_base_name"),
    ({"auto_create_room": True, "room_base_name": "群" * 41}, "room_base_name"),
    ({"auto_create_room": True, "room_base_name": "群", "room_base_id": -1}, "room_base_id"),
    ({"welcome_text": "好" * 1334}, "welcome_text"),
    ({"welcome_text": "你好 {customer_name}"}, "welcome_text"),
    ({"welcome_attachment": [LINK, LINK]}, "welcome_attachment"),
    ({"welcome_attachment": {"msgtype": "link", "link": {"title": "no url"}}},
     "welcome_attachment"),
    ({"welcome_attachment": {"msgtype": "voice", "voice": {}}}, "welcome_attachment"),
    ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expires_at"),
])
def test_bad_input_names_the_field_and_writes_nothing(corp, admin, groups, sim, overrides,
                                                      field):
    ways_before, templates_before = len(join_ways(sim)), len(templates(sim))
    with pytest.raises(ValidationFailed) as caught:
        create(corp, admin, groups, **overrides)
    assert field in caught.value.field_errors
    assert not GroupCode.objects.for_corp(corp).exists()
    assert not GroupCodeGroup.objects.for_corp(corp).exists()
    assert len(join_ways(sim)) == ways_before and len(templates(sim)) == templates_before


def test_group_of_another_corp_or_dismissed_is_refused(corp, admin, groups, sim):
    foreign = CustomerGroupFactory(corp=CorpFactory())
    with pytest.raises(ValidationFailed) as caught:
        create(corp, admin, groups, group_ids=[groups[0].pk, foreign.pk])
    assert "group_ids" in caught.value.field_errors
    groups[1].status = "dismissed"
    groups[1].save()
    with pytest.raises(ValidationFailed) as caught:
        create(corp, admin, groups, group_ids=[groups[1].pk])
    assert "粉丝群1" in caught.value.field_errors["group_ids"][0]
    with pytest.raises(ValidationFailed):
        create(corp, admin, groups, group_ids=[groups[0].pk, groups[0].pk])
    assert not GroupCode.objects.for_corp(corp).exists()


def test_all_groups_full_needs_room_or_auto_create(corp, admin, groups, sim):
    for group in groups[:2]:
        group.member_count = 3
        group.save()
    with pytest.raises(ValidationFailed) as caught:
        create(corp, admin, groups, group_ids=[groups[0].pk, groups[1].pk], member_limit=3)
    assert "group_ids" in caught.value.field_errors
    code = create(corp, admin, groups, group_ids=[groups[0].pk, groups[1].pk], member_limit=3,
                  auto_create_room=True, room_base_name="新群")
    # Nothing below the limit: the last group, which WeCom fills and then creates the next.
    assert join_ways(sim)[code.wecom_config_id]["chat_id_list"] == [groups[1].chat_id]


def test_wecom_refusal_writes_nothing(corp, admin, groups, sim):
    ways_before = len(join_ways(sim))
    sim.control.inject_faults("externalcontact/groupchat/add_join_way", errcode=40058)
    with pytest.raises(Conflict, match="40058"):
        create(corp, admin, groups)
    assert not GroupCode.objects.for_corp(corp).exists()
    assert len(join_ways(sim)) == ways_before


def test_template_refusal_removes_the_new_join_way(corp, admin, groups, sim):
    ways_before = len(join_ways(sim))
    sim.control.inject_faults("externalcontact/group_welcome_template/add", errcode=41055)
    with pytest.raises(Conflict, match="41055"):
        create(corp, admin, groups, welcome_text="欢迎")
    assert not GroupCode.objects.for_corp(corp).exists()
    assert len(join_ways(sim)) == ways_before


def test_store_failure_removes_join_way_and_template(corp, admin, groups, sim, monkeypatch):
    from siyu.acquisition.group_codes import services as group_code_services

    ways_before, templates_before = len(join_ways(sim)), len(templates(sim))

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(group_code_services, "_store_groups", broken)
    with pytest.raises(RuntimeError):
        create(corp, admin, groups, welcome_text="欢迎")
    assert not GroupCode.objects.for_corp(corp).exists()
    assert len(join_ways(sim)) == ways_before and len(templates(sim)) == templates_before


def test_update_refused_by_wecom_keeps_the_old_code_and_template(corp, admin, groups, sim):
    code = create(corp, admin, groups, welcome_text="旧欢迎语")
    sim.control.inject_faults("externalcontact/groupchat/update_join_way", errcode=40058)
    with pytest.raises(Conflict):
        group_code_update(corp=corp, actor=admin, group_code=code, name="New",
                          group_ids=[groups[5].pk], welcome_text="新欢迎语")
    code.refresh_from_db()
    assert code.name == "Live stream fans" and code.welcome_text == "旧欢迎语"
    assert code.entries.count() == 3
    assert join_ways(sim)[code.wecom_config_id]["chat_id_list"] == [
        g.chat_id for g in groups[:3]]
    assert templates(sim)[code.wecom_template_id]["text"] == {"content": "旧欢迎语"}


def test_transient_errors_propagate(corp, admin, groups, sim):
    from siyu.wecom.errors import WeComTransientError

    sim.control.inject_faults("externalcontact/groupchat/add_join_way", errcode=-1, count=10)
    try:
        with pytest.raises(WeComTransientError):
            create(corp, admin, groups)
    finally:
        sim.control.clear_faults()
    assert not GroupCode.objects.for_corp(corp).exists()


@pytest.mark.parametrize("role", ["staff"])
def test_permission_required(corp, groups, role):
    staff = UserFactory(corp=corp, role=role)
    with pytest.raises(PermissionDenied):
        create(corp, staff, groups)


def test_code_of_another_corp_cannot_be_changed(corp, admin, groups):
    code = create(corp, admin, groups)
    other = CorpFactory()
    other_admin = UserFactory(corp=other, role="admin")
    with pytest.raises(Conflict):
        group_code_update(corp=other, actor=other_admin, group_code=code, name="x",
                          group_ids=[groups[0].pk])
    with pytest.raises(Conflict):
        group_code_disable(corp=other, actor=other_admin, group_code=code)
