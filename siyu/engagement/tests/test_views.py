"""The welcome messages console page: permission, scope (a manager edits only their part of the
organisation), no cross-tenant access, saving with field errors and the htmx preview."""

import json

import pytest
from django.urls import reverse

from siyu.engagement.models import WelcomeTemplate
from siyu.engagement.services import welcome_template_save

pytestmark = pytest.mark.django_db

PAGE = reverse("engagement:welcome")
SAVE = reverse("engagement:welcome_save")
PREVIEW = reverse("engagement:welcome_preview")


@pytest.fixture
def login(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def as_user(user):
        client.force_login(user)
        return client

    return as_user


def test_staff_may_not_manage_welcome_messages(login, world):
    client = login(world.staff_a)
    assert client.get(PAGE).status_code == 403
    assert client.post(SAVE, {"scope": f"employee:{world.employees['a'].pk}",
                              "text": "hi"}).status_code == 403
    assert not WelcomeTemplate.objects.for_corp(world.corp).exists()


def test_admin_saves_and_sees_a_template(login, world):
    client = login(world.admin)
    employee = world.employees["a"]
    response = client.post(SAVE, {"scope": f"employee:{employee.pk}", "enabled": "on",
                                  "text": "您好 {customer_name}", "attachments": json.dumps(
                                      [{"msgtype": "image", "image": {"media_id": "m1"}}])})
    assert response.status_code == 302
    template = WelcomeTemplate.objects.for_corp(world.corp).get()
    assert (template.employee, template.text) == (employee, "您好 {customer_name}")
    assert template.enabled
    assert template.updated_by == world.admin
    page = client.get(PAGE, {"edit": f"employee:{employee.pk}"}).content.decode()
    assert "您好 {customer_name}" in page and employee.name in page


def test_bad_input_shows_field_errors_and_saves_nothing(login, world):
    client = login(world.admin)
    scope = f"department:{world.departments['sales'].pk}"
    response = client.post(SAVE, {"scope": scope, "text": "{nickname}", "attachments": "[1"})
    assert response.status_code == 422 and b"Expecting" in response.content
    response = client.post(SAVE, {"scope": scope, "text": "{nickname}", "attachments": ""})
    assert response.status_code == 422 and b"{nickname}" in response.content
    assert not WelcomeTemplate.objects.for_corp(world.corp).exists()


def test_manager_cannot_reach_outside_their_departments(login, world):
    client = login(world.manager)
    assert client.get(PAGE).status_code == 200
    outside = world.employees["b"]  # in the service department, not under sales
    assert client.post(SAVE, {"scope": f"employee:{outside.pk}", "text": "x"}).status_code == 404
    assert client.post(SAVE, {"scope": f"department:{world.departments['service'].pk}",
                              "text": "x"}).status_code == 404
    assert client.post(SAVE, {"scope": f"employee:{world.employees['a'].pk}",
                              "text": "ok"}).status_code == 302


def test_other_corps_objects_are_not_found_nor_listed(login, world, other_world):
    welcome_template_save(corp=other_world.corp, actor=None,
                          employee=other_world.employees["a"], text="其他企业的欢迎语")
    client = login(world.admin)
    assert "其他企业的欢迎语" not in client.get(PAGE).content.decode()
    assert client.get(PAGE, {"edit": f"employee:{other_world.employees['a'].pk}"}
                      ).status_code == 404
    assert client.post(SAVE, {"scope": f"department:{other_world.departments['root'].pk}",
                              "text": "x"}).status_code == 404
    assert not WelcomeTemplate.objects.for_corp(world.corp).exists()


def test_preview_renders_sample_names_or_explains_errors(login, world):
    client = login(world.admin)
    ok = client.post(PREVIEW, {"text": "{customer_name}您好，我是{employee_name}"},
                     HTTP_HX_REQUEST="true").content.decode()
    assert "王小明您好，我是李娜" in ok
    bad = client.post(PREVIEW, {"text": "{x}", "attachments": json.dumps([{"msgtype": "a"}])},
                      HTTP_HX_REQUEST="true").content.decode()
    assert "{x}" in bad and "Attachment 1" in bad
