"""The console's WeCom API calls page and its selectors: admins only, own enterprise only."""

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from siyu.core.errors import PermissionDenied
from siyu.wecom.models import ApiCall
from siyu.wecom.selectors import (
    CallFilters,
    api_call_stats_for,
    api_calls_for,
    api_names_for,
    percentile,
)

URL = "/wecom/calls/"


def call(corp, api="externalcontact/get", errcode=0, latency_ms=100, ago=timedelta(minutes=5),
         **fields):
    return ApiCall.objects.create(corp=corp, api=api, errcode=errcode, latency_ms=latency_ms,
                                  http_status=200, created_at=timezone.now() - ago, **fields)


def texts(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin)
    return client


def test_url():
    assert reverse("wecom:calls") == URL


def test_admin_sees_own_corps_calls_only(admin_client, world, other_world):
    call(world.corp, api="externalcontact/get", errmsg="mine")
    call(other_world.corp, api="externalcontact/groupchat/get", errcode=40096,
         errmsg="theirs-secret")
    response = admin_client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "externalcontact/get" in html
    assert "externalcontact/groupchat/get" not in html and "theirs-secret" not in html
    assert [s.api for s in response.context["stats"]] == ["externalcontact/get"]
    assert response.context["api_names"] == ["externalcontact/get"]
    assert response.context["totals"] == {"calls": 1, "errors": 0, "apis": 1,
                                          "error_percent": 0}
    assert list(response.context["page_obj"]) == list(ApiCall.objects.for_corp(world.corp))


def test_other_corps_filtered_calls_stay_hidden(admin_client, world, other_world):
    call(other_world.corp, api="externalcontact/get", errcode=45009)
    response = admin_client.get(URL, {"api": "externalcontact/get", "errcode": "45009"})
    assert list(response.context["page_obj"]) == []


@pytest.mark.parametrize("role", ["staff_a", "staff_b", "manager"])
def test_only_admins_may_see_the_page(client, world, role):
    call(world.corp)
    client.force_login(getattr(world, role))
    response = client.get(URL)
    assert response.status_code == 403
    assert "externalcontact/get" not in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_selectors_refuse_non_admins(world):
    with pytest.raises(PermissionDenied):
        api_calls_for(world.staff_a)
    with pytest.raises(PermissionDenied):
        api_call_stats_for(world.manager, since=timezone.now())


def test_stats_per_api_over_the_last_hour(world):
    for latency in range(1, 101):  # 1..100 ms
        call(world.corp, api="externalcontact/get", latency_ms=latency,
             errcode=-1 if latency % 10 == 0 else 0)
    call(world.corp, api="externalcontact/get", latency_ms=5000, ago=timedelta(hours=2))
    call(world.corp, api="gettoken", latency_ms=40, errcode=None)
    stats = api_call_stats_for(world.admin, since=timezone.now() - timedelta(hours=1))
    assert [(s.api, s.calls, s.errors, s.p50_ms, s.p99_ms) for s in stats] == [
        ("externalcontact/get", 100, 10, 50, 99),
        ("gettoken", 1, 1, 40, 40),
    ]


def test_percentile_uses_the_nearest_rank():
    assert percentile([], 0.5) == 0
    assert percentile([(10, 1)], 0.99) == 10
    assert percentile([(10, 98), (500, 2)], 0.99) == 500
    assert percentile([(10, 99), (500, 1)], 0.99) == 10
    assert percentile([(1, 1), (2, 1), (3, 1), (4, 1)], 0.5) == 2


@pytest.mark.parametrize("errcode, expected", [
    ("", {"ok", "busy", "network", "bad"}),
    ("ok", {"ok"}),
    ("errors", {"busy", "network", "bad"}),
    ("network", {"network"}),
    ("-1", {"busy"}),
    ("40096", {"bad"}),
])
def test_errcode_filter(world, errcode, expected):
    for name, code in (("ok", 0), ("busy", -1), ("network", None), ("bad", 40096)):
        call(world.corp, errcode=code, errmsg=name)
    found = api_calls_for(world.admin, CallFilters(errcode=errcode))
    assert {c.errmsg for c in found} == expected


def test_api_filter_and_names(world):
    call(world.corp, api="externalcontact/get")
    call(world.corp, api="externalcontact/list")
    call(world.corp, api="user/list", ago=timedelta(days=8))
    assert api_names_for(world.admin) == ["externalcontact/get", "externalcontact/list"]
    assert [c.api for c in api_calls_for(world.admin, CallFilters(api="externalcontact/list"))] \
        == ["externalcontact/list"]


def test_page_filters_by_api_and_errcode(admin_client, world):
    call(world.corp, api="externalcontact/get", errcode=0, errmsg="fine")
    call(world.corp, api="externalcontact/get", errcode=-1, errmsg="system busy")
    call(world.corp, api="externalcontact/list", errcode=-1, errmsg="also busy")
    response = admin_client.get(URL, {"api": "externalcontact/get", "errcode": "errors"},
                                HTTP_ACCEPT_LANGUAGE="en")
    assert [c.errmsg for c in response.context["page_obj"]] == ["system busy"]
    assert response.context["filtered"]


def test_unknown_errcode_filter_shows_everything(admin_client, world):
    call(world.corp)
    response = admin_client.get(URL, {"errcode": "<script>"})
    assert response.context["filters"].errcode == ""
    assert len(response.context["page_obj"]) == 1


def test_htmx_filter_returns_the_results_partial(admin_client, world):
    call(world.corp, errcode=-1, errmsg="system busy")
    response = admin_client.get(URL, {"errcode": "-1"}, HTTP_HX_REQUEST="true",
                                HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert "system busy" in html and "<html" not in html and "Calls in the last hour" not in html


def test_page_shows_counts_latency_and_the_chart(admin_client, world):
    for latency in (100, 200, 300):
        call(world.corp, api="externalcontact/batch/get_by_user", latency_ms=latency)
    call(world.corp, api="externalcontact/batch/get_by_user", errcode=45033, latency_ms=900)
    response = admin_client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert "Calls in the last hour" in texts(html)
    assert 'id="chart-api-calls"' in html and "wecom/calls.js" in html
    data = json.loads(re.search(r'id="api-calls-chart-data"[^>]*>(.*?)</script>', html).group(1))
    assert data["apis"] == ["externalcontact/batch/get_by_user"]
    assert (data["ok"], data["errors"]) == ([3], [1])
    assert re.search(r"get_by_user.*?>4<.*?>1<.*?>200<.*?>900<", html, re.S)


def test_empty_page(admin_client, world):
    response = admin_client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    html = texts(response.content.decode())
    assert "No calls in the last hour" in html and "No calls have been made yet." in html
    assert 'id="chart-api-calls"' not in response.content.decode()


def test_admins_see_the_page_in_the_navigation(client, world):
    client.force_login(world.admin)
    assert URL in client.get("/").content.decode()
    client.force_login(world.manager)
    assert URL not in client.get("/").content.decode()
