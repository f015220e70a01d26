import pytest

from siyu.core.errors import Conflict, PermissionDenied, ValidationFailed
from siyu.core.models import AuditLog
from siyu.customers.models import Customer, CustomerTag, FollowRelation, TimelineEvent
from siyu.customers.services import (
    customer_create,
    customer_merge,
    customer_tag,
    customer_untag,
    customer_update,
    follow_end,
    follow_upsert,
)
from siyu.customers.tests.factories import CustomerFactory, FollowFactory, TagFactory


def audit(corp, action):
    return list(AuditLog.objects.for_corp(corp).filter(action=action))


def test_create_makes_staff_the_owner_and_audits(world):
    customer = customer_create(corp=world.corp, actor=world.staff_a,
                               data={"name": "新客户", "phones": "13800001111, 13800002222",
                                     "birthday": "1990-05-20"})
    assert customer.phones == ["13800001111", "13800002222"]
    assert str(customer.birthday) == "1990-05-20"
    follow = FollowRelation.objects.for_corp(world.corp).get(customer=customer)
    assert follow.employee == world.employees["a"]
    [entry] = audit(world.corp, "customer.create")
    assert entry.actor == world.staff_a
    assert entry.changes["name"] == [None, "新客户"]
    kinds = set(TimelineEvent.objects.for_corp(world.corp).filter(customer=customer)
                .values_list("kind", flat=True))
    assert kinds == {"created", "follow_added"}


def test_create_with_bad_input_reports_every_field_and_writes_nothing(world):
    before = Customer.objects.for_corp(world.corp).count()
    with pytest.raises(ValidationFailed) as exc:
        customer_create(corp=world.corp, actor=world.admin,
                        data={"name": "", "phones": ["12ab"], "email": "not-an-email",
                              "birthday": "2999-01-01", "gender": 7, "colour": "red"})
    fields = exc.value.field_errors
    assert set(fields) == {"name", "phones", "email", "birthday", "gender", "colour"}
    assert "12ab" in fields["phones"][0]
    assert Customer.objects.for_corp(world.corp).count() == before
    assert not audit(world.corp, "customer.create")


def test_update_audits_old_and_new_values(world):
    customer = world.customers["A1"]
    customer_update(corp=world.corp, actor=world.staff_a, customer=customer,
                    data={"company": "星河科技", "gender": 2})
    customer.refresh_from_db()
    assert customer.company == "星河科技"
    [entry] = audit(world.corp, "customer.update")
    assert entry.changes == {"company": ["", "星河科技"], "gender": [0, 2]}
    assert entry.actor_label == world.staff_a.username


def test_update_with_one_bad_field_changes_nothing(world):
    customer = world.customers["A1"]
    with pytest.raises(ValidationFailed) as exc:
        customer_update(corp=world.corp, actor=world.staff_a, customer=customer,
                        data={"company": "好公司", "email": "bad@"})
    assert list(exc.value.field_errors) == ["email"]
    customer.refresh_from_db()
    assert customer.company == ""
    assert not audit(world.corp, "customer.update")


def test_update_without_changes_writes_no_audit(world):
    customer = world.customers["A1"]
    customer_update(corp=world.corp, actor=world.admin, customer=customer,
                    data={"name": customer.name})
    assert not audit(world.corp, "customer.update")


def test_tag_and_untag_are_idempotent_and_timelined(world):
    customer, vip = world.customers["A1"], world.tags["vip"]
    assert customer_tag(corp=world.corp, actor=world.staff_a, customer=customer,
                        tags=[vip]) == [vip]
    assert customer_tag(corp=world.corp, actor=world.staff_a, customer=customer,
                        tags=[vip]) == []
    assert CustomerTag.objects.for_corp(world.corp).filter(customer=customer).count() == 1
    assert customer_untag(corp=world.corp, actor=world.staff_a, customer=customer,
                          tags=[vip]) == [vip]
    assert customer_untag(corp=world.corp, actor=world.staff_a, customer=customer,
                          tags=[vip]) == []
    kinds = list(TimelineEvent.objects.for_corp(world.corp).filter(customer=customer)
                 .order_by("id").values_list("kind", flat=True))
    assert kinds == ["tagged", "untagged"]
    assert len(audit(world.corp, "customer.tag")) == 1
    assert len(audit(world.corp, "customer.untag")) == 1


def test_tagging_with_another_corps_tag_is_refused(world, other_world):
    with pytest.raises(ValidationFailed):
        customer_tag(corp=world.corp, actor=world.admin, customer=world.customers["A1"],
                     tags=[world.tags["vip"], other_world.tags["vip"]])
    assert not CustomerTag.objects.for_corp(world.corp).exists()


def test_staff_cannot_merge(world):
    with pytest.raises(PermissionDenied):
        customer_merge(corp=world.corp, actor=world.staff_a, primary=world.customers["A1"],
                       duplicate=world.customers["A2"])


def test_merge_folds_duplicate_into_primary(world):
    corp = world.corp
    primary = CustomerFactory(corp=corp, name="王芳", phones=["13900000001"], external_userid=None)
    duplicate = CustomerFactory(corp=corp, name="王芳(微信)", phones=["13900000002"],
                                unionid="oUNION1", email="wf@example.com",
                                external_userid="wmDUP")
    vip, other = world.tags["vip"], TagFactory(corp=corp, name="复购")
    CustomerTag.objects.create(corp=corp, customer=primary, tag=vip)
    CustomerTag.objects.create(corp=corp, customer=duplicate, tag=vip)
    CustomerTag.objects.create(corp=corp, customer=duplicate, tag=other)
    FollowFactory(corp=corp, customer=primary, employee=world.employees["a"])
    FollowFactory(corp=corp, customer=duplicate, employee=world.employees["a"])
    FollowFactory(corp=corp, customer=duplicate, employee=world.employees["b"])

    merged = customer_merge(corp=corp, actor=world.manager, primary=primary, duplicate=duplicate)

    assert merged.phones == ["13900000001", "13900000002"]
    assert merged.unionid == "oUNION1" and merged.email == "wf@example.com"
    assert merged.external_userid == "wmDUP"
    assert sorted(t.name for t in (link.tag for link in merged.tag_links.all())) == ["VIP", "复购"]
    assert sorted(merged.follows.values_list("employee__userid", flat=True)) == ["x_a", "x_b"]
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == merged.pk and duplicate.external_userid is None
    assert audit(corp, "customer.merge")[0].changes["merged_from"] == [None, duplicate.pk]
    with pytest.raises(Conflict):
        customer_merge(corp=corp, actor=world.admin, primary=primary, duplicate=duplicate)


def test_merge_into_itself_is_refused(world):
    with pytest.raises(ValidationFailed):
        customer_merge(corp=world.corp, actor=world.admin, primary=world.customers["A1"],
                       duplicate=world.customers["A1"])


def test_follow_end_and_revive(world):
    follow = FollowRelation.objects.for_corp(world.corp).get(customer=world.customers["B1"])
    follow_end(corp=world.corp, actor=None, follow=follow, deleted_by="customer")
    follow.refresh_from_db()
    assert follow.deleted_by == "customer" and follow.deleted_at is not None
    revived = follow_upsert(corp=world.corp, actor=None, customer=world.customers["B1"],
                            employee=world.employees["b"], state="again")
    assert revived.pk == follow.pk and revived.deleted_at is None and revived.state == "again"
    with pytest.raises(ValidationFailed):
        follow_end(corp=world.corp, actor=None, follow=follow, deleted_by="nobody")


def test_duplicate_external_userid_conflicts(world):
    taken = world.customers["A1"].external_userid
    with pytest.raises(Conflict):
        customer_create(corp=world.corp, actor=world.admin,
                        data={"name": "重复", "external_userid": taken})
    with pytest.raises(Conflict):
        customer_update(corp=world.corp, actor=world.admin, customer=world.customers["A2"],
                        data={"external_userid": taken})
    assert Customer.objects.for_corp(world.corp).filter(external_userid=taken).count() == 1
