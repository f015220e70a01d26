import pytest

from siyu.core.errors import NotFound, PermissionDenied
from siyu.core.tenancy import UnscopedQueryError
from siyu.customers.models import Customer
from siyu.customers.selectors import CustomerFilters, customer_get_for, customer_list


def names(qs):
    return sorted(c.name for c in qs)


def test_unscoped_query_fails_loudly(world):
    with pytest.raises(UnscopedQueryError):
        list(Customer.objects.all())
    with pytest.raises(UnscopedQueryError):
        Customer.objects.filter(name="x").count()
    assert Customer.objects.for_corp(world.corp).count() == 4


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", ["x客户A1", "x客户A2", "x客户B1", "x客户M1"]),
        ("manager", ["x客户A1", "x客户A2", "x客户M1"]),
        ("staff_a", ["x客户A1", "x客户A2"]),
        ("staff_b", ["x客户B1"]),
    ],
)
def test_list_scope_per_role(world, other_world, role, expected):
    actor = getattr(world, role)
    assert names(customer_list(actor, CustomerFilters())) == expected


@pytest.mark.parametrize("role", ["admin", "manager", "staff_a", "staff_b"])
def test_search_never_crosses_corp(world, other_world, role):
    actor = getattr(world, role)
    # "客户" matches every customer in both corps; only own-corp rows may come back.
    assert all(c.corp_id == world.corp.pk
               for c in customer_list(actor, CustomerFilters(q="客户")))
    assert not list(customer_list(actor, CustomerFilters(q="y客户")))


def test_detail_outside_scope_is_404(world, other_world):
    with pytest.raises(NotFound):
        customer_get_for(world.staff_a, world.customers["B1"].pk)
    with pytest.raises(NotFound):
        customer_get_for(world.admin, other_world.customers["A1"].pk)
    assert customer_get_for(world.manager, world.customers["A1"].pk).name == "x客户A1"


def test_filters(world):
    admin = world.admin
    assert names(customer_list(admin, CustomerFilters(owner_id=world.employees["b"].pk))) == [
        "x客户B1"]
    assert names(customer_list(admin, CustomerFilters(state="channel_a"))) == [
        "x客户A1", "x客户A2"]
    assert names(customer_list(admin, CustomerFilters(q="备注xM1"))) == ["x客户M1"]
    phone = world.customers["B1"].phones[0]
    assert names(customer_list(admin, CustomerFilters(q=phone[-6:]))) == ["x客户B1"]


def test_user_without_corp_is_denied(db):
    from siyu.accounts.tests.factories import UserFactory

    platform = UserFactory(corp=None, username="platform", role="admin")
    with pytest.raises(PermissionDenied):
        list(customer_list(platform, CustomerFilters()))


def test_duplicate_candidates_for_a_customer_without_phone_or_unionid(world):
    from siyu.customers.selectors import duplicate_candidates
    from siyu.customers.tests.factories import CustomerFactory

    lonely = CustomerFactory(corp=world.corp, phones=[], unionid="")
    assert list(duplicate_candidates(world.admin, lonely)) == []
    twin = CustomerFactory(corp=world.corp, phones=[world.customers["A1"].phones[0]])
    assert [c.name for c in duplicate_candidates(world.admin, twin)] == ["x客户A1"]
