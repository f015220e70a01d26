"""Console pages of channel live codes against the WeCom simulator over HTTP: each page renders,
good input creates or updates the contact way, bad input shows the field's error and writes
nothing (locally or in WeCom), a WeCom refusal is shown; the QR image and poster; and nobody
sees or changes another enterprise's code, or a code outside their role."""

import datetime
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone

from siyu.acquisition.live_codes.services import live_code_create
from siyu.acquisition.models import LiveCode, LiveCodeAdd, LiveCodeTimeSlot
from siyu.engagement.models import WelcomeDelivery
from siyu.wecom.simulator.qr import qr_png
from siyu.wecom.simulator.testing import running_simulator
from tests.fixtures import WORLD_MIRROR, world_on_simulator

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sim():
    with running_simulator(corp_id="wwxcorp", seed=3, groups=0, mirror=WORLD_MIRROR) as running:
        yield running


@pytest.fixture
def corp(world, sim, settings):
    settings.LANGUAGE_CODE = "en"
    return world_on_simulator(world, sim, settings)


def ways(sim) -> dict:
    return {w["config_id"]: w for w in sim.control.contact_ways()["contact_ways"]}


def make_code(world, *members, name="双11直播", **options) -> LiveCode:
    members = members or (world.employees["a"],)
    return live_code_create(corp=world.corp, actor=world.admin, name=name,
                            members=[{"employee_id": e.pk} for e in members], **options)


def post_data(world, **overrides) -> dict:
    data = {"name": "Live stream 11.11", "mode": "random", "skip_verify": "on",
            "members-0-who": f"employee:{world.employees['a'].pk}", "members-0-daily_cap": "",
            "members-0-order": "",
            "members-3-who": f"employee:{world.employees['b'].pk}", "members-3-daily_cap": "50",
            "members-3-order": "", "members-3-is_backup": "on",
            "tag_ids": [str(world.tags["vip"].pk)],
            "welcome-text": "你好 {customer_name}，我是 {employee_name}", "expires_at": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def login(client, user):
    client.force_login(user)
    return client


# -- list -------------------------------------------------------------------------------------
def test_list_shows_codes_with_todays_and_total_adds(client, world, corp):
    code = make_code(world)
    other = make_code(world, name="门店海报")
    now = timezone.now()
    for index, when in enumerate((now, now, now - datetime.timedelta(days=3))):
        LiveCodeAdd.objects.create(corp=corp, live_code=code, customer=world.customers["A1"],
                                   employee=world.employees["a"], event_key=f"k{index}",
                                   added_at=when)
    response = login(client, world.admin).get(reverse("acquisition:live_codes"))
    assert response.status_code == 200
    rows = {c.pk: c for c in response.context["codes"]}
    assert (rows[code.pk].adds_today, rows[code.pk].adds_total) == (2, 3)
    assert (rows[other.pk].adds_today, rows[other.pk].adds_total) == (0, 0)
    assert "双11直播" in response.text and reverse("acquisition:live_code_create") in response.text


def test_list_searches_by_name_and_filters_by_status(client, world, corp):
    live = make_code(world, name="直播间")
    poster = make_code(world, name="海报")
    login(client, world.admin).post(reverse("acquisition:live_code_disable", args=[poster.pk]))
    url = reverse("acquisition:live_codes")
    assert [c.pk for c in client.get(url, {"q": "直播"}).context["codes"]] == [live.pk]
    assert [c.pk for c in client.get(url, {"status": "disabled"}).context["codes"]] == [poster.pk]
    partial = client.get(url, {"q": "海"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.text and "海报" in partial.text and "直播间" not in partial.text


def test_list_pages(client, world, corp):
    for index in range(21):
        LiveCode.objects.create(corp=corp, name=f"code {index:02d}", state=f"lc_page{index}")
    url = reverse("acquisition:live_codes")
    first = login(client, world.admin).get(url)
    assert len(first.context["codes"]) == 20 and first.context["page_obj"].has_next()
    assert len(client.get(url, {"page": 2}).context["codes"]) == 1


# -- create -----------------------------------------------------------------------------------
def test_create_form_renders_members_tags_and_welcome_editor(client, world, corp):
    response = login(client, world.admin).get(reverse("acquisition:live_code_create"))
    assert response.status_code == 200
    text = response.text
    assert 'name="members-0-who"' in text and "data-member-blank" in text
    assert world.employees["a"].name in text and world.departments["sales"].name in text
    assert f'name="tag_ids" value="{world.tags["vip"].pk}"' in text
    assert 'name="welcome-text"' in text  # the shared welcome editor


def test_create_saves_the_code_and_its_contact_way(client, world, corp, sim):
    response = login(client, world.admin).post(reverse("acquisition:live_code_create"),
                                               post_data(world))
    code = LiveCode.objects.for_corp(corp).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("acquisition:live_code_detail", args=[code.pk])
    assert code.name == "Live stream 11.11" and code.skip_verify
    assert code.welcome_text == "你好 {customer_name}，我是 {employee_name}"
    assert list(code.tags.all()) == [world.tags["vip"]]
    members = list(code.members.order_by("order"))
    assert [(m.employee, m.daily_cap, m.is_backup, m.order) for m in members] == [
        (world.employees["a"], None, False, 0), (world.employees["b"], 50, True, 1)]
    way = ways(sim)[code.wecom_config_id]
    assert way["state"] == code.state and way["user"] == ["x_a"]


def test_create_with_time_slots_across_midnight_and_a_department(client, world, corp, sim):
    data = post_data(world, mode="time_slot", **{
        "members-0-slots-0-weekdays": ["4", "5"], "members-0-slots-0-start": "22:00",
        "members-0-slots-0-end": "02:00",
        "members-0-slots-2-weekdays": ["0"], "members-0-slots-2-start": "09:00",
        "members-0-slots-2-end": "18:00",
        "members-3-who": f"department:{world.departments['service'].pk}"})
    response = login(client, world.admin).post(reverse("acquisition:live_code_create"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    code = LiveCode.objects.for_corp(corp).get()
    slots = LiveCodeTimeSlot.objects.for_corp(corp).order_by("id")
    assert [(s.weekdays, s.start_time, s.end_time) for s in slots] == [
        ([4, 5], datetime.time(22), datetime.time(2)), ([0], datetime.time(9), datetime.time(18))]
    assert code.members.filter(department=world.departments["service"], is_backup=True).exists()
    detail = client.get(reverse("acquisition:live_code_detail", args=[code.pk]))
    assert "22:00–02:00" in detail.text


def test_slots_are_ignored_outside_time_slot_mode(client, world, corp):
    data = post_data(world, **{"members-0-slots-0-weekdays": ["9"],
                               "members-0-slots-0-start": "nonsense"})
    response = login(client, world.admin).post(reverse("acquisition:live_code_create"), data)
    assert response.status_code == 302
    assert not LiveCodeTimeSlot.objects.for_corp(corp).exists()


def test_create_with_an_expiry_in_china_time(client, world, corp):
    data = post_data(world, expires_at="2099-12-31T23:30")
    login(client, world.admin).post(reverse("acquisition:live_code_create"), data)
    code = LiveCode.objects.for_corp(corp).get()
    assert timezone.localtime(code.expires_at).strftime("%Y-%m-%d %H:%M %z") == \
        "2099-12-31 23:30 +0800"


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"name": ""}, "name", "Required."),
    ({"name": "x" * 65}, "name", "At most 64 characters."),
    ({"members-0-who": "", "members-3-who": "", "members-3-daily_cap": ""}, "members",
     "Add at least one employee or department."),
    ({"members-0-daily_cap": "0"}, "members", "A daily cap is a whole number of at least 1"),
    ({"members-0-order": "first"}, "members", "An order is a whole number"),
    ({"members-0-who": "employee:999999"}, "members", "does not exist"),
    ({"members-0-who": "robot:1"}, "members", "Choose an employee or a department"),
    ({"members-3-who": "", "members-3-daily_cap": "5"}, "members",
     "Choose an employee or a department"),
    ({"members-3-is_backup": None, "members-0-is_backup": "on", "members-3-who": "",
      "members-3-daily_cap": ""}, "members", "not a backup"),
    ({"mode": "lottery"}, "mode", "Choose random, round robin or by time slot."),
    ({"mode": "time_slot"}, "slots", "Give at least one member a time slot"),
    ({"mode": "time_slot", "members-0-slots-0-start": "25:00", "members-0-slots-0-end": "26:00",
      "members-0-slots-0-weekdays": ["1"]}, "slots", "HH:MM"),
    ({"mode": "time_slot", "members-0-slots-0-start": "09:00",
      "members-0-slots-0-end": "10:00"}, "slots", "Choose at least one weekday"),
    ({"tag_ids": ["999999"]}, "tags", "A chosen tag does not exist"),
    ({"expires_at": "tomorrow"}, "expires_at", "Give a date and time"),
    ({"expires_at": "2001-01-01T00:00"}, "expires_at", "The expiry must be in the future."),
    ({"welcome-text": "你好 {nickname}"}, "welcome-text", "{nickname}"),
])
def test_bad_input_shows_the_field_error_and_writes_nothing(client, world, corp, sim, overrides,
                                                            field, message):
    before = set(ways(sim))
    response = login(client, world.admin).post(reverse("acquisition:live_code_create"),
                                               post_data(world, **overrides))
    assert response.status_code == 422
    errors = response.context["errors"]
    assert any(message in m for m in errors.get(field, [])), errors
    assert "Nothing was saved." in response.text and message.split("{")[0] in response.text
    assert not LiveCode.objects.for_corp(corp).exists()
    assert set(ways(sim)) == before
    # What was typed stays in the form.
    assert response.context["values"].name == post_data(world, **overrides)["name"]


def test_welcome_attachment_errors_show_next_to_the_attachment_field(client, world, corp):
    data = post_data(world, **{"welcome-attachments-0-msgtype": "link",
                               "welcome-attachments-0-title": "Offer"})
    response = login(client, world.admin).post(reverse("acquisition:live_code_create"), data)
    assert response.status_code == 422
    assert "welcome-attachments-0-url" in response.context["errors"]
    assert not LiveCode.objects.for_corp(corp).exists()


def test_wecom_refusal_is_shown_and_nothing_is_saved(client, world, corp, sim):
    sim.control.inject_faults("externalcontact/add_contact_way", errcode=41045, count=1)
    response = login(client, world.admin).post(reverse("acquisition:live_code_create"),
                                               post_data(world))
    assert response.status_code == 409
    assert "WeCom refused the contact way" in response.text and "41045" in response.text
    assert "Nothing was saved." in response.text
    assert not LiveCode.objects.for_corp(corp).exists()


# -- edit -------------------------------------------------------------------------------------
def test_edit_form_shows_the_stored_values(client, world, corp):
    code = make_code(world, world.employees["a"], world.employees["b"],
                     tag_ids=[world.tags["vip"].pk], welcome_text="Hi {customer_name}")
    response = login(client, world.admin).get(reverse("acquisition:live_code_edit",
                                                      args=[code.pk]))
    assert response.status_code == 200
    values = response.context["values"]
    assert values.name == "双11直播" and values.tag_ids == [world.tags["vip"].pk]
    assert [m["who"] for m in values.members] == [f"employee:{world.employees['a'].pk}",
                                                  f"employee:{world.employees['b'].pk}"]
    assert "Hi {customer_name}" in response.text


def test_edit_updates_the_code_and_repoints_the_contact_way(client, world, corp, sim):
    code = make_code(world)
    data = post_data(world, name="Renamed", mode="round_robin", **{
        "members-0-who": f"employee:{world.employees['b'].pk}", "members-3-who": "",
        "members-3-daily_cap": "", "members-3-is_backup": None, "skip_verify": None})
    response = login(client, world.admin).post(
        reverse("acquisition:live_code_edit", args=[code.pk]), data)
    assert response.status_code == 302
    code.refresh_from_db()
    assert code.name == "Renamed" and code.mode == "round_robin" and not code.skip_verify
    assert [m.employee for m in code.members.all()] == [world.employees["b"]]
    way = ways(sim)[code.wecom_config_id]
    assert way["user"] == ["x_b"] and way["skip_verify"] is False


def test_bad_edit_changes_nothing(client, world, corp, sim):
    code = make_code(world)
    way_before = ways(sim)[code.wecom_config_id]
    response = login(client, world.admin).post(
        reverse("acquisition:live_code_edit", args=[code.pk]), post_data(world, name=""))
    assert response.status_code == 422 and "Required." in response.text
    code.refresh_from_db()
    assert code.name == "双11直播" and code.members.count() == 1
    assert ways(sim)[code.wecom_config_id] == way_before


def test_a_disabled_code_cannot_be_edited(client, world, corp):
    code = make_code(world)
    login(client, world.admin).post(reverse("acquisition:live_code_disable", args=[code.pk]))
    url = reverse("acquisition:live_code_edit", args=[code.pk])
    assert client.get(url)["Location"] == reverse("acquisition:live_code_detail", args=[code.pk])
    client.post(url, post_data(world, name="Again"))
    code.refresh_from_db()
    assert code.name == "双11直播"


# -- detail, disable --------------------------------------------------------------------------
def test_detail_shows_settings_qr_adds_and_welcomes(client, world, corp):
    code = make_code(world, tag_ids=[world.tags["vip"].pk], welcome_text="Hello {customer_name}")
    customer = world.customers["A1"]
    LiveCodeAdd.objects.create(corp=corp, live_code=code, customer=customer,
                               employee=world.employees["a"], event_key="ev-1",
                               added_at=timezone.now(), new_customer=True)
    WelcomeDelivery.objects.create(corp=corp, dedupe_key="ev-1", customer=customer,
                                   employee=world.employees["a"], status="failed",
                                   reason="Late: 23 s after the add", errcode=41051)
    WelcomeDelivery.objects.create(corp=corp, dedupe_key="ev-other", customer=customer,
                                   status="sent")  # another code's add: not shown
    response = login(client, world.admin).get(reverse("acquisition:live_code_detail",
                                                      args=[code.pk]))
    assert response.status_code == 200
    text = response.text
    assert "Hello {customer_name}" in text and "VIP" in text and code.state in text
    assert reverse("acquisition:live_code_qr", args=[code.pk]) in text
    assert reverse("acquisition:live_code_poster", args=[code.pk]) in text
    assert reverse("acquisition:live_code_stats", args=[code.pk]) in text
    assert reverse("customers:detail", args=[customer.pk]) in text
    assert [d.dedupe_key for d in response.context["welcomes"]] == ["ev-1"]
    assert "Late: 23 s after the add" in text and "41051" in text


def test_disable_deletes_the_contact_way(client, world, corp, sim):
    code = make_code(world)
    response = login(client, world.admin).post(reverse("acquisition:live_code_disable",
                                                       args=[code.pk]))
    assert response.status_code == 302
    code.refresh_from_db()
    assert code.status == "disabled" and code.wecom_config_id not in ways(sim)
    detail = client.get(reverse("acquisition:live_code_detail", args=[code.pk]))
    assert reverse("acquisition:live_code_edit", args=[code.pk]) not in detail.text


def test_disable_only_by_post(client, world, corp):
    code = make_code(world)
    url = reverse("acquisition:live_code_disable", args=[code.pk])
    assert login(client, world.admin).get(url).status_code == 405


# -- QR image and poster ----------------------------------------------------------------------
def test_png_is_the_wecom_qr_image(client, world, corp, sim):
    code = make_code(world)
    response = login(client, world.admin).get(reverse("acquisition:live_code_qr",
                                                      args=[code.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_MAGIC)
    assert response.content == qr_png(f"{sim.root_url}/sim/scan/{code.wecom_config_id}")
    assert "Content-Disposition" not in response


def test_png_download_is_named_after_the_code(client, world, corp):
    code = make_code(world, name="双11/直播")
    response = login(client, world.admin).get(
        reverse("acquisition:live_code_qr", args=[code.pk]), {"download": "1"})
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == (
        f'attachment; filename="live-code-{code.pk}.png"; '
        f"filename*=UTF-8''{quote('双11 直播.png')}")


def test_png_failure_explains_why(client, world, corp):
    code = make_code(world)
    LiveCode.objects.for_corp(corp).filter(pk=code.pk).update(
        qr_code="https://example.com/qr.png")
    response = login(client, world.admin).get(reverse("acquisition:live_code_qr",
                                                      args=[code.pk]))
    assert response.status_code == 502
    assert "not a WeCom address" in response.text


def test_poster_is_printable(client, world, corp):
    code = make_code(world)
    url = reverse("acquisition:live_code_poster", args=[code.pk])
    a4 = login(client, world.admin).get(url)
    assert a4.status_code == 200
    assert "size: A4 portrait" in a4.text and code.name in a4.text
    assert reverse("acquisition:live_code_qr", args=[code.pk]) in a4.text
    assert "Scan the QR code with WeChat to add us" in a4.text
    a5 = client.get(url, {"size": "a5", "caption": "扫码领券"})
    assert "size: A5 portrait" in a5.text and "扫码领券" in a5.text
    assert "size: A4" in client.get(url, {"size": "letter"}).text


# -- who may see and change what --------------------------------------------------------------
def _code_urls(code) -> dict:
    return {name: reverse(f"acquisition:{name}", args=[code.pk]) for name in (
        "live_code_detail", "live_code_edit", "live_code_qr", "live_code_poster")}


def test_another_enterprise_gets_404_on_every_page_of_a_code(client, world, other_world, corp):
    code = make_code(world)
    login(client, other_world.admin)
    for name, url in _code_urls(code).items():
        assert client.get(url).status_code == 404, name
    for url in (reverse("acquisition:live_code_edit", args=[code.pk]),
                reverse("acquisition:live_code_disable", args=[code.pk])):
        assert client.post(url, post_data(world)).status_code == 404
    assert code.pk not in [c.pk for c in client.get(reverse("acquisition:live_codes"))
                           .context["codes"]]
    code.refresh_from_db()
    assert code.status == "active" and code.name == "双11直播"


def test_staff_see_only_codes_they_are_in(client, world, corp):
    theirs = make_code(world, world.employees["a"], name="甲的码")
    via_department = make_code(world, name="部门码")
    via_department.members.update(employee=None, department=world.departments["sales"])
    login(client, world.staff_b)
    assert [c.pk for c in client.get(reverse("acquisition:live_codes")).context["codes"]] == []
    for name, url in _code_urls(theirs).items():
        if name != "live_code_edit":
            assert client.get(url).status_code == 404, name
    login(client, world.staff_a)
    listed = [c.pk for c in client.get(reverse("acquisition:live_codes")).context["codes"]]
    assert sorted(listed) == sorted([theirs.pk, via_department.pk])
    assert client.get(reverse("acquisition:live_code_detail", args=[theirs.pk])).status_code == 200


def test_staff_cannot_create_edit_or_disable(client, world, corp, sim):
    code = make_code(world, world.employees["a"])
    login(client, world.staff_a)
    before = set(ways(sim))
    assert client.get(reverse("acquisition:live_code_create")).status_code == 403
    assert client.post(reverse("acquisition:live_code_create"),
                       post_data(world)).status_code == 403
    edit = reverse("acquisition:live_code_edit", args=[code.pk])
    assert client.get(edit).status_code == 403
    assert client.post(edit, post_data(world, name="Mine")).status_code == 403
    assert client.post(reverse("acquisition:live_code_disable",
                               args=[code.pk])).status_code == 403
    detail = client.get(reverse("acquisition:live_code_detail", args=[code.pk]))
    assert edit not in detail.text and "Disable" not in detail.text
    assert reverse("acquisition:live_code_create") not in client.get(
        reverse("acquisition:live_codes")).text
    code.refresh_from_db()
    assert (code.name, code.status) == ("双11直播", "active")
    assert LiveCode.objects.for_corp(corp).count() == 1 and set(ways(sim)) == before


def test_staff_see_only_their_own_adds_through_a_shared_code(client, world, corp):
    code = make_code(world, world.employees["a"], world.employees["b"])
    for key, customer, employee in (("a1", "A1", "a"), ("b1", "B1", "b")):
        LiveCodeAdd.objects.create(corp=corp, live_code=code, customer=world.customers[customer],
                                   employee=world.employees[employee], event_key=key,
                                   added_at=timezone.now())
        WelcomeDelivery.objects.create(corp=corp, dedupe_key=key,
                                       customer=world.customers[customer],
                                       employee=world.employees[employee], status="sent")
    login(client, world.staff_a)
    detail = client.get(reverse("acquisition:live_code_detail", args=[code.pk]))
    assert [a.event_key for a in detail.context["adds"]] == ["a1"]
    assert [d.dedupe_key for d in detail.context["welcomes"]] == ["a1"]
    assert world.customers["B1"].name not in detail.text
    [row] = client.get(reverse("acquisition:live_codes")).context["codes"]
    assert (row.adds_today, row.adds_total) == (1, 1)
    login(client, world.admin)
    [row] = client.get(reverse("acquisition:live_codes")).context["codes"]
    assert row.adds_total == 2


def test_manager_manages_every_code_of_the_enterprise(client, world, corp):
    code = make_code(world, world.employees["b"])  # staff_b is outside the manager's tree
    login(client, world.manager)
    assert client.get(reverse("acquisition:live_code_edit", args=[code.pk])).status_code == 200
    assert client.get(reverse("acquisition:live_code_create")).status_code == 200


def test_anonymous_users_are_sent_to_sign_in(client, world, corp):
    code = make_code(world)
    for url in [reverse("acquisition:live_codes"), *_code_urls(code).values()]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
