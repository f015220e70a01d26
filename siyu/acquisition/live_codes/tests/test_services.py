"""Live code writes against the real WeCom simulator over HTTP: the contact way appears with
the code's state, is pointed at the assigned employees, and is deleted on disable; bad input
writes nothing locally or in WeCom."""

from datetime import timedelta

import pytest
from django.utils import timezone

from siyu.accounts.tests.factories import CorpFactory, EmployeeFactory, UserFactory
from siyu.acquisition.live_codes.services import (
    live_code_create,
    live_code_disable,
    live_code_update,
)
from siyu.acquisition.models import LiveCode, LiveCodeMember, LiveCodeTimeSlot
from siyu.core.errors import Conflict, PermissionDenied, ValidationFailed
from siyu.core.models import AuditLog
from siyu.customers.tests.factories import TagFactory
from siyu.wecom.simulator.testing import running_simulator
from tests.fixtures import corp_on_simulator


@pytest.fixture(scope="module")
def sim():
    with running_simulator(seed=5, employees=4, customers=0, groups=0) as running:
        yield running


@pytest.fixture
def corp(db, sim, settings):
    return corp_on_simulator(sim, settings)


@pytest.fixture
def people(corp, sim):
    userids = [u["userid"] for u in sim.control.population()["users"]][:3]
    return [EmployeeFactory(corp=corp, userid=u, name=u) for u in userids]


@pytest.fixture
def admin(corp):
    return UserFactory(corp=corp, role="admin")


def ways(sim) -> dict:
    return {w["config_id"]: w for w in sim.control.contact_ways()["contact_ways"]}


def create(corp, admin, people, **overrides):
    options = {"name": "Live stream 11.11", "mode": "random",
               "members": [{"employee_id": people[0].pk}, {"employee_id": people[1].pk}]}
    return live_code_create(corp=corp, actor=admin, **(options | overrides))


def test_create_pushes_a_contact_way_with_the_state(corp, admin, people, sim):
    tag = TagFactory(corp=corp)
    code = create(corp, admin, people, tag_ids=[tag.pk],
                  welcome_text="你好 {customer_name}，我是 {employee_name}",
                  welcome_attachments=[{"msgtype": "link",
                                        "link": {"title": "Offer", "url": "https://x.test"}}])
    way = ways(sim)[code.wecom_config_id]
    assert way["state"] == code.state and code.state.startswith("lc_")
    assert len(code.state) <= 30
    assert way["user"] == [people[0].userid, people[1].userid]
    assert way["skip_verify"] is True
    assert code.qr_code and list(code.tags.all()) == [tag]
    assert code.members.count() == 2
    assert AuditLog.objects.for_corp(corp).filter(action="live_code.create").count() == 1


def test_round_robin_lists_one_employee(corp, admin, people, sim):
    code = create(corp, admin, people, mode="round_robin")
    assert ways(sim)[code.wecom_config_id]["user"] == [people[0].userid]


def test_update_repoints_the_contact_way(corp, admin, people, sim):
    code = create(corp, admin, people)
    live_code_update(corp=corp, actor=admin, live_code=code, name="Renamed", mode="random",
                     members=[{"employee_id": people[2].pk, "daily_cap": 5},
                              {"employee_id": people[0].pk, "is_backup": True}],
                     skip_verify=False)
    way = ways(sim)[code.wecom_config_id]
    assert way["user"] == [people[2].userid] and way["skip_verify"] is False
    assert way["state"] == code.state
    code.refresh_from_db()
    assert code.name == "Renamed"
    assert sorted(code.members.values_list("is_backup", flat=True)) == [False, True]


def test_time_slot_code_stores_slots(corp, admin, people, sim):
    always = {"weekdays": list(range(7)), "start": "00:00", "end": "00:00"}
    code = create(corp, admin, people, mode="time_slot",
                  members=[{"employee_id": people[0].pk,
                            "slots": [{"weekdays": [4], "start": "22:00", "end": "02:00"},
                                      always]}])
    assert LiveCodeTimeSlot.objects.for_corp(corp).filter(member__live_code=code).count() == 2
    assert ways(sim)[code.wecom_config_id]["user"] == [people[0].userid]


def test_disable_deletes_the_contact_way_and_keeps_the_row(corp, admin, people, sim):
    code = create(corp, admin, people)
    live_code_disable(corp=corp, actor=admin, live_code=code)
    assert code.wecom_config_id not in ways(sim)
    code.refresh_from_db()
    assert code.status == LiveCode.Status.DISABLED
    live_code_disable(corp=corp, actor=admin, live_code=code)  # again: nothing to do
    with pytest.raises(Conflict):
        live_code_update(corp=corp, actor=admin, live_code=code, name="x", mode="random",
                         members=[{"employee_id": people[0].pk}])


def test_a_contact_way_already_gone_in_wecom_still_disables(corp, admin, people, sim):
    code = create(corp, admin, people)
    from siyu.wecom.client import sync_client_for
    sync_client_for(corp).del_contact_way(code.wecom_config_id)
    live_code_disable(corp=corp, actor=admin, live_code=code)
    code.refresh_from_db()
    assert code.status == LiveCode.Status.DISABLED


def _bad_inputs(people_ids, other_employee_id, other_tag_id):
    one = [{"employee_id": people_ids[0]}]
    return [
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"mode": "lottery"}, "mode"),
        ({"members": []}, "members"),
        ({"members": [{"employee_id": people_ids[0], "is_backup": True}]}, "members"),
        ({"members": [{"employee_id": other_employee_id}]}, "members"),
        ({"members": [{"employee_id": people_ids[0], "daily_cap": 0}]}, "members"),
        ({"members": one, "mode": "time_slot"}, "slots"),
        ({"members": [{"employee_id": people_ids[0],
                       "slots": [{"weekdays": [9], "start": "09:00", "end": "18:00"}]}],
          "mode": "time_slot"}, "slots"),
        ({"members": [{"employee_id": people_ids[0],
                       "slots": [{"weekdays": [1], "start": "9h", "end": "18:00"}]}],
          "mode": "time_slot"}, "slots"),
        ({"tag_ids": [other_tag_id]}, "tags"),
        ({"welcome_text": "字" * 1334}, "welcome_text"),
        ({"welcome_attachments": [{"msgtype": "image", "image": {"pic_url": "https://p"}}] * 10},
         "welcome_attachments"),
        ({"welcome_attachments": [{"msgtype": "voice", "voice": {}}]}, "welcome_attachments"),
        ({"welcome_attachments": [{"msgtype": "link", "link": {"title": "t"}}]},
         "welcome_attachments"),
        ({"welcome_text": "Hi {nickname}"}, "welcome_text"),
        ({"welcome_attachments": [{"msgtype": "image",
                                   "image": {"media_id": "m", "pic_url": "https://p"}}]},
         "welcome_attachments"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expires_at"),
    ]


def test_bad_input_names_the_field_and_writes_nothing(corp, admin, people, sim, db):
    other = CorpFactory()
    stranger = EmployeeFactory(corp=other)
    foreign_tag = TagFactory(corp=other)
    resigned = EmployeeFactory(corp=corp, status="resigned")
    before = set(ways(sim))
    cases = _bad_inputs([p.pk for p in people], stranger.pk, foreign_tag.pk)
    cases.append(({"members": [{"employee_id": resigned.pk}]}, "members"))
    for overrides, field in cases:
        with pytest.raises(ValidationFailed) as caught:
            create(corp, admin, people, **overrides)
        assert field in caught.value.field_errors, (overrides, caught.value.field_errors)
    assert not LiveCode.objects.for_corp(corp).exists()
    assert not LiveCodeMember.objects.for_corp(corp).exists()
    assert set(ways(sim)) == before


def test_welcome_text_limit_is_in_bytes(corp, admin, people):
    code = create(corp, admin, people, welcome_text="字" * 1333)  # 3999 bytes
    assert len(code.welcome_text.encode()) == 3999


def test_state_over_30_characters_is_refused_before_wecom(corp, admin, people, sim,
                                                          monkeypatch):
    from siyu.acquisition.live_codes import services
    monkeypatch.setattr(services, "new_state", lambda: "lc_" + "x" * 28)
    before = set(ways(sim))
    with pytest.raises(ValueError, match="30"):
        create(corp, admin, people)
    assert set(ways(sim)) == before
    assert not LiveCode.objects.for_corp(corp).exists()


def test_wecom_refusal_writes_nothing(corp, admin, people, sim):
    ghost = EmployeeFactory(corp=corp, userid="not_in_wecom")
    with pytest.raises(Conflict):
        create(corp, admin, people, members=[{"employee_id": ghost.pk}])
    assert not LiveCode.objects.for_corp(corp).exists()


@pytest.mark.parametrize("role", ["staff"])
def test_staff_cannot_manage_codes(corp, people, role):
    with pytest.raises(PermissionDenied):
        create(corp, UserFactory(corp=corp, role=role), people)


def test_manager_can_manage_codes(corp, people, sim):
    code = create(corp, UserFactory(corp=corp, role="manager"), people)
    assert code.wecom_config_id in ways(sim)


def test_refresh_follows_round_robin_turns_and_caps(corp, admin, people, sim):
    from siyu.acquisition.live_codes.rotation import record_assignment
    from siyu.acquisition.live_codes.services import live_code_refresh
    code = create(corp, admin, people, mode="round_robin",
                  members=[{"employee_id": people[0].pk}, {"employee_id": people[1].pk,
                                                           "daily_cap": 1}])
    now = timezone.now()
    record_assignment(live_code=code, employee_id=people[0].pk, now=now)
    assert live_code_refresh(live_code=code, now=now) == (people[1].userid,)
    assert ways(sim)[code.wecom_config_id]["user"] == [people[1].userid]
    record_assignment(live_code=code, employee_id=people[1].pk, now=now)
    # people[1] is capped for today, so the turn comes back to people[0].
    assert live_code_refresh(live_code=code, now=now) == (people[0].userid,)
    assert ways(sim)[code.wecom_config_id]["user"] == [people[0].userid]


def test_refresh_follows_duty_hours_and_keeps_the_list_when_nobody_is_on(corp, admin, people,
                                                                         sim):
    from datetime import datetime

    from siyu.acquisition.live_codes.assignment import CHINA
    from siyu.acquisition.live_codes.services import live_code_refresh
    friday_night = {"weekdays": [4], "start": "22:00", "end": "02:00"}
    weekdays = {"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}
    code = create(corp, admin, people, mode="time_slot",
                  members=[{"employee_id": people[0].pk, "slots": [weekdays]},
                           {"employee_id": people[1].pk, "slots": [friday_night]},
                           {"employee_id": people[2].pk, "slots": [weekdays]}],
                  )
    saturday_1am = datetime(2026, 11, 21, 1, 0, tzinfo=CHINA)
    assert live_code_refresh(live_code=code, now=saturday_1am) == (people[1].userid,)
    assert ways(sim)[code.wecom_config_id]["user"] == [people[1].userid]
    sunday_noon = datetime(2026, 11, 22, 12, 0, tzinfo=CHINA)
    assert live_code_refresh(live_code=code, now=sunday_noon) == ()
    assert ways(sim)[code.wecom_config_id]["user"] == [people[1].userid]


def test_refresh_skips_disabled_codes(corp, admin, people, sim):
    from siyu.acquisition.live_codes.services import live_code_refresh
    code = create(corp, admin, people)
    live_code_disable(corp=corp, actor=admin, live_code=code)
    assert live_code_refresh(live_code=code) == ()


def test_saving_outside_duty_hours_lists_every_active_member(corp, admin, people, sim):
    never_now = {"weekdays": [0], "start": "00:00", "end": "00:01"}
    code = create(corp, admin, people, mode="time_slot",
                  members=[{"employee_id": people[0].pk, "slots": [never_now]},
                           {"employee_id": people[1].pk, "slots": [never_now]}])
    assert ways(sim)[code.wecom_config_id]["user"] == [people[0].userid, people[1].userid]


def test_expired_codes_are_disabled_and_their_contact_ways_deleted(corp, admin, people, sim):
    from siyu.acquisition.live_codes.services import live_codes_expire
    soon = timezone.now() + timedelta(hours=1)
    expiring = create(corp, admin, people, expires_at=soon)
    lasting = create(corp, admin, people, name="No expiry")
    assert live_codes_expire(now=soon - timedelta(seconds=1)) == 0
    assert live_codes_expire(now=soon) == 1
    assert live_codes_expire(now=soon) == 0  # a second worker finds nothing left to do
    expiring.refresh_from_db()
    assert expiring.status == LiveCode.Status.DISABLED
    assert expiring.wecom_config_id not in ways(sim)
    assert lasting.wecom_config_id in ways(sim)
    assert AuditLog.objects.for_corp(corp).filter(action="live_code.expire").count() == 1
