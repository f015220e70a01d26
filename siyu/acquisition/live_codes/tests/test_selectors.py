"""Who sees which live codes: managers of acquisition see their corp's codes, staff see the
codes they take customers from, nobody sees another enterprise's codes."""

import pytest

from siyu.acquisition.live_codes.selectors import (
    live_code_get_for,
    live_code_get_for_manage,
    live_codes_for,
)
from siyu.acquisition.models import LiveCode, LiveCodeMember
from siyu.core.errors import NotFound, PermissionDenied


def code(world, name, *, employee=None, department=None, backup=False):
    live_code = LiveCode.objects.create(corp=world.corp, name=name, state=f"lc_{name}")
    LiveCodeMember.objects.create(corp=world.corp, live_code=live_code, employee=employee,
                                  department=department, is_backup=backup)
    return live_code


@pytest.fixture
def codes(world, other_world):
    return {
        "a": code(world, "a", employee=world.employees["a"]),
        "b": code(world, "b", employee=world.employees["b"], backup=True),
        "sales": code(world, "sales", department=world.departments["sales"]),
        "service": code(world, "service", department=world.departments["service"]),
        "foreign": code(other_world, "foreign", employee=other_world.employees["a"]),
    }


def names(actor):
    return sorted(live_codes_for(actor).values_list("name", flat=True))


@pytest.mark.parametrize(("user", "expected"), [
    ("admin", ["a", "b", "sales", "service"]),
    ("manager", ["a", "b", "sales", "service"]),
    ("staff_a", ["a", "sales"]),  # staff_a is in 华东区, under 销售部
    ("staff_b", ["b", "service"]),
])
def test_visible_codes_per_role(world, codes, user, expected):
    assert names(getattr(world, user)) == expected


def test_other_enterprise_sees_only_its_own(other_world, codes):
    assert names(other_world.admin) == ["foreign"]
    assert names(other_world.staff_a) == ["foreign"]


@pytest.mark.parametrize(("user", "key"), [
    ("staff_a", "b"), ("staff_a", "service"), ("staff_b", "a"), ("admin", "foreign"),
    ("manager", "foreign"), ("staff_a", "foreign"),
])
def test_detail_outside_scope_is_not_found(world, codes, user, key):
    with pytest.raises(NotFound):
        live_code_get_for(getattr(world, user), codes[key].pk)


def test_detail_inside_scope(world, codes):
    assert live_code_get_for(world.staff_a, codes["sales"].pk) == codes["sales"]
    assert live_code_get_for_manage(world.manager, codes["b"].pk) == codes["b"]


def test_staff_cannot_open_a_code_for_editing(world, codes):
    with pytest.raises(PermissionDenied):
        live_code_get_for_manage(world.staff_a, codes["a"].pk)


def test_anonymous_sees_nothing(codes):
    from django.contrib.auth.models import AnonymousUser
    with pytest.raises(PermissionDenied):
        live_codes_for(AnonymousUser())
