"""The welcome messages console page: permission, scope (a manager edits only their part of the
organisation), no cross-tenant access, saving with field errors and the htmx preview."""

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
                              "welcome-text": "hi"}).status_code == 403
    assert not WelcomeTemplate.objects.for_corp(world.corp).exists()


def test_admin_saves_and_sees_a_template(login, world):
    client = login(world.admin)
    employee = world.employees["a"]
    response = client.post(SAVE, {
        "scope": f"employee:{employee.pk}", "enabled": "on", "welcome-text": "您好 {customer_name}",
        "welcome-attachments-0-msgtype": "image", "welcome-attachments-0-media_id": "m1",
        "welcome-attachments-3-msgtype": "link", "welcome-attachments-3-title": "新人礼",
        "welcome-attachments-3-url": "https://e.com/gift", "welcome-attachments-3-desc": ""})
    assert response.status_code == 302
    template = WelcomeTemplate.objects.for_corp(world.corp).get()
    assert (template.employee, template.text) == (employee, "您好 {customer_name}")
    assert template.attachments == [
        {"msgtype": "image", "image": {"media_id": "m1"}},
        {"msgtype": "link", "link": {"title": "新人礼", "url": "https://e.com/gift"}}]
    assert template.enabled
    assert template.updated_by == world.admin
    page = client.get(PAGE, {"edit": f"employee:{employee.pk}"}).content.decode()
    assert "您好 {customer_name}" in page and employee.name in page
    # The editor shows the saved attachments as rows, not JSON.
    assert 'name="welcome-attachments-1-title" value="新人礼"' in page
    assert 'name="welcome-attachments-0-media_id" value="m1"' in page


def test_bad_input_shows_field_errors_in_place_and_saves_nothing(login, world):
    client = login(world.admin)
    scope = f"department:{world.departments['sales'].pk}"
    response = client.post(SAVE, {
        "scope": scope, "welcome-text": "{nickname}",
        "welcome-attachments-0-msgtype": "link", "welcome-attachments-0-url": "https://e.com"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "nothing was saved" in page and "{nickname}" in page
    title_field = page.split('for="welcome-attachments-0-title"')[1].split("</div>")[0]
    assert "Attachment 1 (link): title is required" in title_field
    assert 'value="https://e.com"' in page  # what was typed is kept
    assert not WelcomeTemplate.objects.for_corp(world.corp).exists()


def test_manager_cannot_reach_outside_their_departments(login, world):
    client = login(world.manager)
    assert client.get(PAGE).status_code == 200
    outside = world.employees["b"]  # in the service department, not under sales
    assert client.post(SAVE, {"scope": f"employee:{outside.pk}",
                              "welcome-text": "x"}).status_code == 404
    assert client.post(SAVE, {"scope": f"department:{world.departments['service'].pk}",
                              "welcome-text": "x"}).status_code == 404
    assert client.post(SAVE, {"scope": f"employee:{world.employees['a'].pk}",
                              "welcome-text": "ok"}).status_code == 302


def test_other_corps_objects_are_not_found_nor_listed(login, world, other_world):
    welcome_template_save(corp=other_world.corp, actor=None,
                          employee=other_world.employees["a"], text="其他企业的欢迎语")
    client = login(world.admin)
    assert "其他企业的欢迎语" not in client.get(PAGE).content.decode()
    assert client.get(PAGE, {"edit": f"employee:{other_world.employees['a'].pk}"}
                      ).status_code == 404
    assert client.post(SAVE, {"scope": f"department:{other_world.departments['root'].pk}",
                              "welcome-text": "x"}).status_code == 404
    assert not WelcomeTemplate.objects.for_corp(world.corp).exists()


def test_preview_renders_sample_names_and_attachment_cards(login, world):
    client = login(world.admin)
    ok = client.post(PREVIEW, {
        "welcome-text": "{customer_name}您好，我是{employee_name}",
        "welcome-attachments-0-msgtype": "image",
        "welcome-attachments-0-pic_url": "https://e.com/a.png",
        "welcome-attachments-1-msgtype": "link", "welcome-attachments-1-title": "新人礼",
        "welcome-attachments-1-url": "https://shop.example.com/gift",
        "welcome-attachments-1-picurl": "javascript:alert(1)",
        "welcome-attachments-2-msgtype": "miniprogram", "welcome-attachments-2-title": "商城",
        "welcome-attachments-2-pic_media_id": "P", "welcome-attachments-2-appid": "wx1",
        "welcome-attachments-2-page": "pages/index",
        "welcome-attachments-3-msgtype": "file", "welcome-attachments-3-media_id": "F1",
    }, HTTP_HX_REQUEST="true")
    html = ok.content.decode()
    assert ok.status_code == 200 and "<html" not in html
    assert "王小明您好，我是李娜" in html
    assert '<img src="https://e.com/a.png"' in html
    assert "新人礼" in html and "shop.example.com" in html and "javascript:" not in html
    assert 'data-welcome-card="miniprogram"' in html and "wx1" in html
    assert 'data-welcome-card="file"' in html and "F1" in html
    bad = client.post(PREVIEW, {"welcome-text": "{x}", "welcome-attachments-0-msgtype": "a"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert "{x}" in bad and "Attachment 1" in bad and "data-welcome-card" not in bad
    assert not WelcomeTemplate.objects.for_corp(world.corp).exists()
