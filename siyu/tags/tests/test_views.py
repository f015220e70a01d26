"""Tag management page: everyone reads, tags.manage edits inline; errors sit next to inputs."""

import re

import pytest
from django.urls import reverse

from siyu.core.models import AuditLog
from siyu.customers.tests.factories import CustomerTagFactory, TagFactory
from siyu.tags.models import Tag, TagGroup

LIST = reverse("tags:list")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English source strings; zh-hans, the default, gets a catalog later.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def tagged(world, other_world):
    """VIP on A1 (staff_a's) and B1 (staff_b's); a tag only the other corp has."""
    vip = world.tags["vip"]
    CustomerTagFactory(corp=world.corp, customer=world.customers["A1"], tag=vip)
    CustomerTagFactory(corp=world.corp, customer=world.customers["B1"], tag=vip)
    TagFactory(corp=other_world.corp, group=other_world.tags["vip"].group, name="OTHERCORPTAG")
    return world


def groups(corp):
    return {g.name: sorted(t.name for t in Tag.objects.for_corp(corp).filter(group=g))
            for g in TagGroup.objects.for_corp(corp)}


def usage(response) -> dict:
    return {t.name: t.customer_count for g in response.context["groups"] for t in g.tags.all()}


@pytest.mark.parametrize("role", ["admin", "manager", "staff_a", "staff_b"])
def test_page_renders_for_every_role_without_other_corps_tags(client, tagged, other_world,
                                                              role):
    client.force_login(getattr(tagged, role))
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "客户等级" in html and "VIP" in html
    assert "OTHERCORPTAG" not in html
    assert {g.corp_id for g in response.context["groups"]} == {tagged.corp.pk}


@pytest.mark.parametrize(("role", "count"), [("admin", 2), ("manager", 1), ("staff_a", 1),
                                             ("staff_b", 1)])
def test_usage_counts_only_customers_in_scope(client, tagged, role, count):
    client.force_login(getattr(tagged, role))
    assert usage(client.get(LIST)) == {"VIP": count}


def test_non_managers_see_it_read_only(client, tagged):
    client.force_login(tagged.staff_a)
    html = client.get(LIST).content.decode()
    assert "hx-post" not in html and "Create group" not in html
    client.force_login(tagged.admin)
    html = client.get(LIST).content.decode()
    assert 'hx-post="/tags/groups/new/"' in html


@pytest.mark.parametrize("role", ["manager", "staff_a"])
def test_writes_are_403_without_tags_manage(client, tagged, role):
    client.force_login(getattr(tagged, role))
    vip = tagged.tags["vip"]
    urls = [reverse("tags:group_create"), reverse("tags:group_rename", args=[vip.group_id]),
            reverse("tags:group_delete", args=[vip.group_id]),
            reverse("tags:tag_create", args=[vip.group_id]),
            reverse("tags:tag_rename", args=[vip.pk]), reverse("tags:tag_delete", args=[vip.pk])]
    for url in urls:
        assert client.post(url, {"name": "x"}, **HTMX).status_code == 403, url
    assert groups(tagged.corp) == {"客户等级": ["VIP"]}


def test_anonymous_is_redirected_and_writes_refused(client, tagged):
    assert client.get(LIST)["Location"].startswith("/login/")
    response = client.post(reverse("tags:group_create"), {"name": "x"})
    assert response.status_code == 302
    assert groups(tagged.corp) == {"客户等级": ["VIP"]}


def test_writes_need_post(client, tagged):
    client.force_login(tagged.admin)
    assert client.get(reverse("tags:group_create")).status_code == 405


def test_create_group_with_htmx_returns_form_and_new_card(client, tagged):
    client.force_login(tagged.admin)
    response = client.post(reverse("tags:group_create"), {"name": " 兴趣 "}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="new-group-form"' in html
    assert 'hx-swap-oob="beforeend:#tag-groups"' in html and "兴趣" in html
    assert "Tag group “兴趣” created." in html  # the toast, out of band
    assert "<html" not in html
    assert groups(tagged.corp)["兴趣"] == []
    assert AuditLog.objects.for_corp(tagged.corp).filter(action="tag_group.create").exists()


def test_group_name_errors_show_next_to_the_input(client, tagged):
    client.force_login(tagged.admin)
    response = client.post(reverse("tags:group_create"), {"name": "   "}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert '<p class="field-error">Required.</p>' in html and 'aria-invalid="true"' in html
    response = client.post(reverse("tags:group_create"), {"name": "客户等级"}, **HTMX)
    html = response.content.decode()
    assert ('<p class="field-error">A tag group named “客户等级” exists. Choose another name.</p>'
            in html)
    response = client.post(reverse("tags:group_create"), {"name": "长" * 31}, **HTMX)
    html = response.content.decode()
    assert "At most 30 characters" in html
    assert 'value="' + "长" * 31 + '"' in html  # what was typed stays in the input
    assert groups(tagged.corp) == {"客户等级": ["VIP"]}


def test_errors_without_htmx_render_the_whole_page(client, tagged):
    client.force_login(tagged.admin)
    response = client.post(reverse("tags:group_create"), {"name": ""})
    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" in html and '<p class="field-error">Required.</p>' in html


def test_success_without_htmx_redirects_with_a_message(client, tagged):
    client.force_login(tagged.admin)
    response = client.post(reverse("tags:group_create"), {"name": "渠道"}, follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    assert "Tag group “渠道” created." in response.content.decode()


def test_rename_group_returns_its_card(client, tagged):
    client.force_login(tagged.admin)
    group = tagged.tags["vip"].group
    response = client.post(reverse("tags:group_rename", args=[group.pk]), {"name": "会员等级"},
                           **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="tag-group-{group.pk}"' in html and "会员等级" in html
    assert list(groups(tagged.corp)) == ["会员等级"]


def test_rename_group_conflict_shows_error_in_that_card(client, tagged):
    client.force_login(tagged.admin)
    TagGroup.objects.create(corp=tagged.corp, name="兴趣")
    group = tagged.tags["vip"].group
    response = client.post(reverse("tags:group_rename", args=[group.pk]), {"name": "兴趣"},
                           **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "<details class=\"inline-edit\" open>" in html
    assert "A tag group named “兴趣” exists. Choose another name." in html


def test_tag_create_rename_delete(client, tagged):
    client.force_login(tagged.admin)
    group = tagged.tags["vip"].group
    response = client.post(reverse("tags:tag_create", args=[group.pk]), {"name": "SVIP"}, **HTMX)
    assert response.status_code == 200 and "SVIP" in response.content.decode()
    svip = Tag.objects.for_corp(tagged.corp).get(name="SVIP")
    response = client.post(reverse("tags:tag_rename", args=[svip.pk]), {"name": "黑金"}, **HTMX)
    assert response.status_code == 200 and "黑金" in response.content.decode()
    response = client.post(reverse("tags:tag_delete", args=[svip.pk]), **HTMX)
    assert response.status_code == 200
    assert "Tag “黑金” deleted." in response.content.decode()
    assert groups(tagged.corp) == {"客户等级": ["VIP"]}
    actions = set(AuditLog.objects.for_corp(tagged.corp).values_list("action", flat=True))
    assert {"tag.create", "tag.update", "tag.delete"} <= actions


def test_duplicate_tag_errors_sit_beside_the_right_input(client, tagged):
    client.force_login(tagged.admin)
    vip = tagged.tags["vip"]
    other = TagFactory(corp=tagged.corp, group=vip.group, name="普通")
    response = client.post(reverse("tags:tag_create", args=[vip.group_id]), {"name": "VIP"},
                           **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    # The conflict's message names the clash; both lines sit under the one failed input.
    assert ('<p class="field-error">The group already has a tag “VIP”. Choose another name.</p>'
            in html)
    assert html.count('class="field-error"') == 1
    assert re.search(r'placeholder="New tag[^"]*"\s+value="VIP"', html)
    response = client.post(reverse("tags:tag_rename", args=[other.pk]), {"name": "VIP"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    row = html.split(f'id="tag-{other.pk}"', 1)[1].split("</li>", 1)[0]
    assert "Choose another name." in row and "<details class=\"inline-edit\" open>" in row


def test_delete_group_removes_the_card(client, tagged):
    client.force_login(tagged.admin)
    group = tagged.tags["vip"].group
    response = client.post(reverse("tags:group_delete", args=[group.pk]), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "tag-group-" not in html and "hx-swap-oob" in html
    assert groups(tagged.corp) == {}


def test_other_corps_ids_are_404_and_untouched(client, tagged, other_world):
    client.force_login(tagged.admin)
    theirs = other_world.tags["vip"]
    for url in (reverse("tags:group_rename", args=[theirs.group_id]),
                reverse("tags:group_delete", args=[theirs.group_id]),
                reverse("tags:tag_create", args=[theirs.group_id]),
                reverse("tags:tag_rename", args=[theirs.pk]),
                reverse("tags:tag_delete", args=[theirs.pk])):
        assert client.post(url, {"name": "hacked"}, **HTMX).status_code == 404, url
    assert groups(other_world.corp) == {"客户等级": ["OTHERCORPTAG", "VIP"]}


def test_htmx_get_of_the_list_is_the_full_page(client, tagged):
    # The board has no partial of its own: a boosted or plain htmx GET still gets the page.
    client.force_login(tagged.admin)
    response = client.get(LIST, **HTMX)
    assert "<html" in response.content.decode()
