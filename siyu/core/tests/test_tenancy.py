import pytest

from siyu.core.tenancy import UnscopedQueryError
from siyu.customers.models import Customer, FollowRelation


@pytest.mark.parametrize(
    "operation",
    [
        lambda qs: list(qs),
        lambda qs: qs.count(),
        lambda qs: qs.exists(),
        lambda qs: qs.first(),
        lambda qs: qs.get(pk=1),
        lambda qs: qs.update(name="x"),
        lambda qs: qs.delete(),
        lambda qs: list(qs.values_list("id", flat=True)),
        lambda qs: list(qs.iterator()),
        lambda qs: qs.in_bulk([1]),
    ],
)
def test_every_unscoped_read_or_write_fails(world, operation):
    with pytest.raises(UnscopedQueryError):
        operation(Customer.objects.filter(name__startswith="x"))


def test_scoped_and_explicitly_unscoped_queries_work(world, other_world):
    assert Customer.objects.for_corp(world.corp).count() == 4
    assert Customer.objects.for_corp(world.corp.pk).filter(name="x客户A1").exists()
    assert Customer.objects.unscoped().count() == 8
    with pytest.raises(UnscopedQueryError):
        Customer.objects.for_corp(None)


def test_empty_querysets_need_no_scope(world):
    assert list(Customer.objects.none()) == []
    assert Customer.objects.none().count() == 0


def test_related_managers_and_forward_relations_work(world):
    customer = Customer.objects.for_corp(world.corp).get(name="x客户A1")
    follow = customer.follows.get()
    assert follow.employee.userid == "x_a"
    assert follow.customer == customer
    prefetched = Customer.objects.for_corp(world.corp).prefetch_related("follows")
    assert sum(len(c.follows.all()) for c in prefetched) == 4
    assert FollowRelation.objects.for_corp(world.corp).count() == 4
