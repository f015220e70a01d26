import factory
from django.utils import timezone

from siyu.accounts.tests.factories import CorpFactory, EmployeeFactory
from siyu.customers.models import Customer, CustomerTag, FollowRelation
from siyu.tags.models import Tag, TagGroup


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    corp = factory.SubFactory(CorpFactory)
    external_userid = factory.Sequence(lambda n: f"wmEXT{n:06d}")
    name = factory.Sequence(lambda n: f"客户{n}")
    phones = factory.Sequence(lambda n: [f"138{n:08d}"])


class FollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowRelation

    corp = factory.SelfAttribute("customer.corp")
    customer = factory.SubFactory(CustomerFactory)
    employee = factory.SubFactory(EmployeeFactory, corp=factory.SelfAttribute("..corp"))
    added_at = factory.LazyFunction(timezone.now)


class TagGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TagGroup

    corp = factory.SubFactory(CorpFactory)
    name = factory.Sequence(lambda n: f"标签组{n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    group = factory.SubFactory(TagGroupFactory)
    corp = factory.SelfAttribute("group.corp")
    name = factory.Sequence(lambda n: f"标签{n}")


class CustomerTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerTag

    customer = factory.SubFactory(CustomerFactory)
    corp = factory.SelfAttribute("customer.corp")
    tag = factory.SubFactory(TagFactory, corp=factory.SelfAttribute("..corp"))
