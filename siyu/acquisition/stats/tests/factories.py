"""Hand-built live code adds for the statistics tests: a code, and one add with the state of
its relationship (active, ended by whom and when, or missing)."""

import itertools

from siyu.acquisition.models import LiveCode, LiveCodeAdd, LiveCodeMember
from siyu.customers.models import FollowRelation
from siyu.customers.tests.factories import CustomerFactory

_keys = itertools.count(1)


def live_code(world, name, employees=()):
    code = LiveCode.objects.create(corp=world.corp, name=name, state=f"st_{name}")
    for order, employee in enumerate(employees):
        LiveCodeMember.objects.create(corp=world.corp, live_code=code, employee=employee,
                                      order=order)
    return code


def add(code, employee, at, *, customer=None, new_customer=True, deleted_at=None,
        deleted_by="", relation=True, code_inactive=False):
    """One add event; the relationship of ``customer`` and ``employee`` is created (or, for a
    customer who adds again, updated) to the given end state."""
    corp = code.corp
    customer = customer or CustomerFactory(corp=corp)
    if relation:
        FollowRelation.objects.for_corp(corp).update_or_create(
            customer=customer, employee=employee,
            defaults={"corp": corp, "added_at": at, "deleted_at": deleted_at,
                      "deleted_by": deleted_by, "state": code.state})
    LiveCodeAdd.objects.create(corp=corp, live_code=code, customer=customer, employee=employee,
                               event_key=f"ev{next(_keys)}", added_at=at,
                               new_customer=new_customer, code_inactive=code_inactive)
    return customer
