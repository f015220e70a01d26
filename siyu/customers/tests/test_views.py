"""Console pages for customers: scope, tenant isolation, htmx partials, forms, query counts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from siyu.core.models import AuditLog
from siyu.customers.models import Customer, CustomerTag, TimelineEvent
from siyu.customers.tests.factories import (
    CustomerFactory,
    CustomerTagFactory,
    FollowFactory,
    TagFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}
SCOPES = {
    "admin": {"A1", "A2", "B1", "M1"},
    "manager": {"A1", "A2", "M1"},
    "staff_a": {"A1", "A2"},
    "staff_b": {"B1"},
}
LIST_URL = reverse("customers:list")


@pytest.fixture
def login(client):
    # English UI, so assertions on visible text do not depend on the zh-Hans catalog.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def as_user(user):
        client.force_login(user)
        return client

    return as_user


def listed(response) -> set[str]:
    return {row.customer.name for row in response.context["rows"]}


def names(world, keys) -> set[str]:
    return {world.customers[k].name for k in keys}


def detail_url(customer):
    return reverse("customers:detail", kwargs={"pk": customer.pk})


def assert_only(response, world, other_world, keys):
    body = response.content.decode()
    assert listed(response) == names(world, keys)
    for key, customer in world.customers.items():
        assert (customer.name in body) == (key in keys), key
    for customer in other_world.customers.values():
        assert customer.name not in body


# --- list: scope and tenant isolation --------------------------------------------------------

@pytest.mark.parametrize("role", sorted(SCOPES))
def test_list_page_shows_only_the_roles_scope(login, world, other_world, role):
    response = login(getattr(world, role)).get(LIST_URL)
    assert response.status_code == 200
    assert b"<html" in response.content
    assert_only(response, world, other_world, SCOPES[role])
    assert response.context["page_obj"].paginator.count == len(SCOPES[role])


@pytest.mark.parametrize("role", sorted(SCOPES))
def test_search_and_htmx_partial_stay_in_scope(login, world, other_world, role):
    client = login(getattr(world, role))
    # "客户" is in every customer's name in both corps.
    response = client.get(LIST_URL, {"q": "客户"}, **HTMX)
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'class="table-toolbar"' in response.content
    assert_only(response, world, other_world, SCOPES[role])
    assert response["Vary"].lower().count("hx-request") == 1


def test_search_by_phone_and_by_remark(login, world, other_world):
    client = login(world.admin)
    phone = world.customers["B1"].phones[0]
    assert listed(client.get(LIST_URL, {"q": phone})) == names(world, ["B1"])
    # Remarks live on the follow relation ("备注xA2"); the other corp has "备注yA2".
    assert listed(client.get(LIST_URL, {"q": "备注xA2"})) == names(world, ["A2"])


def test_owner_outside_scope_is_rejected_not_queried(login, world, other_world):
    client = login(world.staff_a)
    for foreign in (world.employees["b"], other_world.employees["a"]):
        response = client.get(LIST_URL, {"owner": foreign.pk})
        assert "owner" in response.context["form"].errors
        assert listed(response) == names(world, ["A1", "A2"])
        assert b"Some filters were not applied" in response.content


def test_owner_choices_are_only_visible_employees(login, world, other_world):
    response = login(world.manager).get(LIST_URL)
    choices = {label for value, label in response.context["form"].fields["owner"].choices
               if value}
    assert choices == {world.employees["manager"].name, world.employees["a"].name}


def test_tag_filter_rejects_another_corps_tag(login, world, other_world):
    response = login(world.admin).get(LIST_URL, {"tag": other_world.tags["vip"].pk})
    assert "tag" in response.context["form"].errors
    assert listed(response) == names(world, SCOPES["admin"])


def test_filters_narrow_the_list(login, world, other_world):
    client = login(world.admin)
    CustomerTagFactory(customer=world.customers["A1"], tag=world.tags["vip"])
    assert listed(client.get(LIST_URL, {"tag": world.tags["vip"].pk})) == names(world, ["A1"])
    owner = world.employees["a"].pk
    assert listed(client.get(LIST_URL, {"owner": owner})) == names(world, ["A1", "A2"])
    assert listed(client.get(LIST_URL, {"state": "channel_b"})) == names(world, ["B1"])
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    assert listed(client.get(LIST_URL, {"added_from": tomorrow})) == set()


def test_include_lost_brings_back_ended_relations(login, world, other_world):
    follow = world.customers["B1"].follows.get()
    follow.deleted_at, follow.deleted_by = timezone.now(), "customer"
    follow.save()
    client = login(world.admin)
    assert listed(client.get(LIST_URL, {"state": "channel_b"})) == set()
    response = client.get(LIST_URL, {"state": "channel_b", "include_lost": "on"})
    assert listed(response) == names(world, ["B1"])


def test_reversed_date_range_is_reported(login, world):
    response = login(world.admin).get(LIST_URL, {"added_from": "2024-02-01",
                                                 "added_to": "2024-01-01"})
    assert "added_to" in response.context["form"].errors


def test_pagination_keeps_filters(login, world):
    CustomerFactory.create_batch(25, corp=world.corp, name="批量客户")
    client = login(world.admin)
    first = client.get(LIST_URL, {"q": "批量", "per_page": 20})
    assert first.context["page_obj"].paginator.count == 25
    assert len(first.context["rows"]) == 20
    body = first.content.decode()
    assert "?q=%E6%89%B9%E9%87%8F&amp;per_page=20&amp;page=2" in body
    assert b"25 customers" in first.content
    second = client.get(LIST_URL, {"q": "批量", "per_page": 20, "page": 2}, **HTMX)
    assert len(second.context["rows"]) == 5
    assert listed(second) == {"批量客户"}


@pytest.mark.parametrize(("per_page", "expected"), [("50", 50), ("100", 100), ("7", 20)])
def test_page_size_choices(login, world, per_page, expected):
    response = login(world.admin).get(LIST_URL, {"per_page": per_page})
    assert response.context["page_obj"].paginator.per_page == expected


def test_list_query_count_does_not_grow_with_rows(login, world):
    client = login(world.manager)
    tag = TagFactory(corp=world.corp, group__name="兴趣")

    def seed(count):
        for _ in range(count):
            customer = CustomerFactory(corp=world.corp)
            FollowFactory(customer=customer, employee=world.employees["a"])
            FollowFactory(customer=customer, employee=world.employees["manager"])
            CustomerTagFactory(customer=customer, tag=tag)
            CustomerTagFactory(customer=customer, tag=world.tags["vip"])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LIST_URL, {"per_page": 100})
        assert response.status_code == 200
        return len(captured), len(response.context["rows"])

    seed(2)
    few, few_rows = queries()
    seed(40)
    many, many_rows = queries()
    assert many_rows == few_rows + 40
    assert many == few
    assert many <= 20


def test_list_bounded_with_django_assert_max_num_queries(login, world,
                                                         django_assert_max_num_queries):
    for _ in range(30):
        customer = CustomerFactory(corp=world.corp)
        FollowFactory(customer=customer, employee=world.employees["a"])
        CustomerTagFactory(customer=customer, tag=world.tags["vip"])
    client = login(world.admin)
    with django_assert_max_num_queries(20):
        client.get(LIST_URL, {"per_page": 50})


def test_added_time_is_shown_in_shanghai_time(login, world):
    follow = world.customers["A1"].follows.get()
    follow.added_at = datetime.datetime(2024, 1, 1, 16, 30, tzinfo=datetime.UTC)
    follow.save()
    response = login(world.admin).get(LIST_URL, {"q": world.customers["A1"].name})
    assert b"2024-01-02 00:30" in response.content


def test_export_link_carries_filters_and_needs_permission(login, world):
    client = login(world.manager)
    response = client.get(LIST_URL, {"q": "A1", "page": 1, "state": "channel_a"})
    url = response.context["export_url"]
    assert url.startswith("/api/v1/customers/export?format=csv&")
    assert "q=A1" in url and "state=channel_a" in url and "page=" not in url
    assert url.replace("&", "&amp;").encode() in response.content
    staff = login(world.staff_a).get(LIST_URL)
    assert b"/api/v1/customers/export" not in staff.content


def test_export_link_downloads_what_the_list_shows(login, world, other_world):
    client = login(world.manager)
    # A whole filter-bar submit: empty fields included, as browsers and htmx send them.
    response = client.get(LIST_URL, {"q": "", "owner": world.employees["a"].pk, "state": "",
                                     "added_from": "", "added_to": "", "per_page": "50"})
    export = client.get(response.context["export_url"])
    assert export.status_code == 200, export.content[:300]
    body = b"".join(export.streaming_content) if export.streaming else export.content
    text = body.decode("utf-8-sig")
    assert world.customers["A1"].name in text and world.customers["A2"].name in text
    for key in ("B1", "M1"):
        assert world.customers[key].name not in text
    assert other_world.customers["A1"].name not in text


# --- detail -------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "key"), [("staff_b", "A1"), ("staff_a", "B1"),
                                           ("manager", "B1")])
def test_detail_outside_scope_is_404(login, world, role, key):
    response = login(getattr(world, role)).get(detail_url(world.customers[key]))
    assert response.status_code == 404


@pytest.mark.parametrize("role", sorted(SCOPES))
def test_detail_of_another_corp_is_404(login, world, other_world, role):
    client = login(getattr(world, role))
    for customer in other_world.customers.values():
        assert client.get(detail_url(customer)).status_code == 404


def test_merged_customer_detail_is_404(login, world):
    duplicate = world.customers["A2"]
    duplicate.merged_into = world.customers["A1"]
    duplicate.save()
    assert login(world.admin).get(detail_url(duplicate)).status_code == 404


def test_detail_shows_profile_follows_tags_and_timeline(login, world):
    customer = world.customers["A1"]
    customer.custom_fields = {"会员等级": "金卡", "积分": 1200}
    customer.gender, customer.email = Customer.Gender.FEMALE, "a1@example.com"
    customer.save()
    CustomerTagFactory(customer=customer, tag=world.tags["vip"])
    FollowFactory(customer=customer, employee=world.employees["b"], add_way=1,
                  deleted_at=timezone.now(), deleted_by="customer", description="老客户")
    TimelineEvent.objects.create(corp=world.corp, customer=customer, kind="note",
                                 summary="喜欢周末来店", occurred_at=timezone.now())
    response = login(world.admin).get(detail_url(customer))
    body = response.content.decode()
    assert response.status_code == 200
    for text in ("会员等级", "金卡", "1200", "Female", "WeChat user", "a1@example.com",
                 "备注xA1", "老客户", "Scanned a QR code", "Customer deleted the employee",
                 "VIP", "Remove tag VIP", "喜欢周末来店", 'id="customer-timeline"'):
        assert text in body, text


def test_timeline_is_newest_first(login, world):
    customer = world.customers["A1"]
    now = timezone.now()
    for minutes, summary in ((30, "older note"), (5, "newer note")):
        TimelineEvent.objects.create(corp=world.corp, customer=customer, kind="note",
                                     summary=summary,
                                     occurred_at=now - datetime.timedelta(minutes=minutes))
    body = login(world.admin).get(detail_url(customer)).content.decode()
    assert body.index("newer note") < body.index("older note")


# --- tags -------------------------------------------------------------------------------------

def tag_add_url(customer):
    return reverse("customers:tag_add", kwargs={"pk": customer.pk})


def test_tag_add_over_htmx_refreshes_tags_and_timeline(login, world):
    customer = world.customers["A1"]
    response = login(world.staff_a).post(tag_add_url(customer),
                                         {"tag_id": world.tags["vip"].pk}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="customer-tags"' in body and 'id="customer-timeline"' in body
    assert body.count('hx-swap-oob="true"') == 2
    assert "Tag added: VIP" in body
    assert CustomerTag.objects.for_corp(world.corp).filter(customer=customer).count() == 1
    assert TimelineEvent.objects.for_corp(world.corp).filter(customer=customer,
                                                             kind="tagged").count() == 1


def test_tag_add_without_htmx_redirects_to_detail(login, world):
    customer = world.customers["A1"]
    response = login(world.staff_a).post(tag_add_url(customer), {"tag_id": world.tags["vip"].pk})
    assert response.status_code == 302 and response["Location"] == detail_url(customer)


def test_tag_add_with_another_corps_tag_writes_nothing(login, world, other_world):
    customer = world.customers["A1"]
    events_before = TimelineEvent.objects.for_corp(world.corp).count()
    response = login(world.admin).post(tag_add_url(customer),
                                       {"tag_id": [world.tags["vip"].pk,
                                                   other_world.tags["vip"].pk]}, **HTMX)
    assert response.status_code == 404
    assert not CustomerTag.objects.unscoped().filter(customer=customer).exists()
    assert TimelineEvent.objects.for_corp(world.corp).count() == events_before


@pytest.mark.parametrize(("role", "key"), [("staff_a", "B1"), ("staff_b", "A1")])
def test_tag_add_on_customer_outside_scope_is_404(login, world, role, key):
    customer = world.customers[key]
    response = login(getattr(world, role)).post(tag_add_url(customer),
                                                {"tag_id": world.tags["vip"].pk}, **HTMX)
    assert response.status_code == 404
    assert not CustomerTag.objects.for_corp(world.corp).exists()


def test_tag_add_on_another_corps_customer_is_404(login, world, other_world):
    customer = other_world.customers["A1"]
    response = login(world.admin).post(tag_add_url(customer), {"tag_id": world.tags["vip"].pk})
    assert response.status_code == 404
    assert not CustomerTag.objects.unscoped().exists()


def test_tag_add_without_a_tag_explains_itself(login, world):
    client = login(world.staff_a)
    customer = world.customers["A1"]
    htmx = client.post(tag_add_url(customer), {}, **HTMX)
    assert htmx.status_code == 422 and b"Choose a tag to add." in htmx.content
    plain = client.post(tag_add_url(customer), {})
    assert plain.status_code == 422 and b"Choose a tag to add." in plain.content


def test_tag_mutations_need_post(login, world):
    customer = world.customers["A1"]
    response = login(world.admin).get(tag_add_url(customer), {"tag_id": world.tags["vip"].pk})
    assert response.status_code == 405
    assert not CustomerTag.objects.for_corp(world.corp).exists()


def test_tag_remove(login, world, other_world):
    customer = world.customers["A1"]
    CustomerTagFactory(customer=customer, tag=world.tags["vip"])
    client = login(world.staff_a)
    foreign = reverse("customers:tag_remove", kwargs={"pk": customer.pk,
                                                      "tag_pk": other_world.tags["vip"].pk})
    assert client.post(foreign, **HTMX).status_code == 404
    url = reverse("customers:tag_remove", kwargs={"pk": customer.pk,
                                                  "tag_pk": world.tags["vip"].pk})
    response = client.post(url, **HTMX)
    assert response.status_code == 200
    assert b"Tag removed: VIP" in response.content
    assert not CustomerTag.objects.for_corp(world.corp).filter(customer=customer).exists()


# --- notes ------------------------------------------------------------------------------------

def test_note_add(login, world):
    customer = world.customers["A1"]
    client = login(world.staff_a)
    url = reverse("customers:note_add", kwargs={"pk": customer.pk})
    response = client.post(url, {"text": "周五回访"}, **HTMX)
    assert response.status_code == 200 and "周五回访" in response.content.decode()
    assert TimelineEvent.objects.for_corp(world.corp).filter(kind="note",
                                                             summary="周五回访").exists()
    assert AuditLog.objects.for_corp(world.corp).filter(action="customer.note").exists()
    empty = client.post(url, {"text": "  "})
    assert empty.status_code == 422
    assert TimelineEvent.objects.for_corp(world.corp).filter(kind="note").count() == 1
    other = reverse("customers:note_add", kwargs={"pk": world.customers["B1"].pk})
    assert client.post(other, {"text": "x"}).status_code == 404


# --- edit and create ---------------------------------------------------------------------------

def edit_url(customer):
    return reverse("customers:edit", kwargs={"pk": customer.pk})


def edit_data(customer, **changes):
    data = {"name": customer.name, "type": customer.type, "gender": customer.gender,
            "phones": ", ".join(customer.phones), "email": customer.email, "birthday": "",
            "region": customer.region, "company": customer.company, "avatar": customer.avatar,
            "unionid": customer.unionid,
            "custom_fields": "\r\n".join(f"{k}: {v}" for k, v in customer.custom_fields.items())}
    data.update(changes)
    return data


def test_edit_with_bad_email_saves_nothing(login, world):
    customer = world.customers["A1"]
    response = login(world.staff_a).post(
        edit_url(customer), edit_data(customer, name="新名字", email="not-an-email"))
    assert response.status_code == 422
    assert "email" in response.context["form"].errors
    assert b"Enter a valid email address." in response.content
    assert b"nothing was saved" in response.content
    customer.refresh_from_db()
    assert customer.name != "新名字" and customer.email == ""
    assert not TimelineEvent.objects.for_corp(world.corp).filter(kind="updated").exists()


def test_edit_form_errors_are_shown_per_field(login, world):
    customer = world.customers["A1"]
    response = login(world.admin).post(edit_url(customer), edit_data(
        customer, name="", phones="abc", birthday="tomorrow", custom_fields="no separator"))
    assert response.status_code == 422
    errors = response.context["form"].errors
    # Form-level parsing fails first; the service's rules run once the form parses.
    assert set(errors) == {"custom_fields"}
    response = login(world.admin).post(edit_url(customer), edit_data(
        customer, name="", phones="abc", birthday="tomorrow"))
    assert set(response.context["form"].errors) == {"name", "phones", "birthday"}
    customer.refresh_from_db()
    assert customer.name == world.customers["A1"].name


def test_edit_saves_only_what_changed(login, world):
    customer = world.customers["A1"]
    customer.custom_fields = {"积分": 1200}
    customer.save()
    response = login(world.staff_a).post(edit_url(customer),
                                         edit_data(customer, company="思域科技"))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.company == "思域科技"
    assert customer.custom_fields == {"积分": 1200}  # untouched, so still a number
    event = TimelineEvent.objects.for_corp(world.corp).get(customer=customer, kind="updated")
    assert set(event.data["changes"]) == {"company"}


def test_edit_custom_fields(login, world):
    customer = world.customers["A1"]
    login(world.staff_a).post(edit_url(customer),
                              edit_data(customer, custom_fields="会员等级：金卡\r\n生日礼: 已送"))
    customer.refresh_from_db()
    assert customer.custom_fields == {"会员等级": "金卡", "生日礼": "已送"}


@pytest.mark.parametrize(("role", "key"), [("staff_a", "B1"), ("staff_b", "A1")])
def test_edit_outside_scope_is_404(login, world, role, key):
    customer = world.customers[key]
    client = login(getattr(world, role))
    assert client.get(edit_url(customer)).status_code == 404
    assert client.post(edit_url(customer), edit_data(customer, name="x")).status_code == 404
    customer.refresh_from_db()
    assert customer.name != "x"


def test_edit_of_another_corps_customer_is_404(login, world, other_world):
    customer = other_world.customers["A1"]
    response = login(world.admin).post(edit_url(customer), edit_data(customer, name="x"))
    assert response.status_code == 404


def test_create_makes_the_staff_member_the_owner(login, world):
    client = login(world.staff_a)
    assert client.get(reverse("customers:create")).status_code == 200
    response = client.post(reverse("customers:create"), {
        "name": "新客户", "type": 1, "gender": 2, "phones": "13800001111, +86 139 0000 2222",
        "email": "new@example.com", "custom_fields": "来源: 门店"})
    customer = Customer.objects.for_corp(world.corp).get(name="新客户")
    assert response.status_code == 302 and response["Location"] == detail_url(customer)
    assert customer.phones == ["13800001111", "+86 139 0000 2222"]
    assert customer.custom_fields == {"来源": "门店"}
    assert customer.follows.get().employee == world.employees["a"]
    assert "新客户" in listed(client.get(LIST_URL))


def test_create_without_name_saves_nothing(login, world):
    before = Customer.objects.for_corp(world.corp).count()
    response = login(world.staff_a).post(reverse("customers:create"),
                                         {"name": "", "type": 1, "gender": 0})
    assert response.status_code == 422
    assert "name" in response.context["form"].errors
    assert Customer.objects.for_corp(world.corp).count() == before


# --- merge ------------------------------------------------------------------------------------

def merge_url(customer):
    return reverse("customers:merge", kwargs={"pk": customer.pk})


def test_merge_duplicate(login, world):
    primary, duplicate = world.customers["A1"], world.customers["A2"]
    duplicate.phones = primary.phones
    duplicate.save()
    client = login(world.manager)
    detail = client.get(detail_url(primary))
    assert duplicate.name in detail.content.decode()
    assert b"Merge into this customer" in detail.content
    response = client.post(merge_url(primary), {"duplicate_id": duplicate.pk}, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == detail_url(primary)
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == primary.pk


def test_merge_needs_permission_and_scope(login, world, other_world):
    primary, duplicate = world.customers["A1"], world.customers["A2"]
    duplicate.phones = primary.phones
    duplicate.save()
    staff = login(world.staff_a)
    assert b"Merge into this customer" not in staff.get(detail_url(primary)).content
    assert staff.post(merge_url(primary), {"duplicate_id": duplicate.pk}).status_code == 403
    manager = login(world.manager)
    for foreign in (world.customers["B1"], other_world.customers["A2"]):
        response = manager.post(merge_url(primary), {"duplicate_id": foreign.pk})
        assert response.status_code == 404
    assert not Customer.objects.unscoped().filter(merged_into__isnull=False).exists()


# --- access -----------------------------------------------------------------------------------

def test_anonymous_users_are_sent_to_login(client, world):
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_pages_render_in_the_default_chinese_locale(client, world):
    client.force_login(world.admin)
    customer = world.customers["A1"]
    CustomerTagFactory(customer=customer, tag=world.tags["vip"])
    for url in (LIST_URL, detail_url(customer), edit_url(customer),
                reverse("customers:create")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'lang="zh-hans"' in response.content
