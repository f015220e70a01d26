import factory
from django.utils import timezone

from siyu.accounts.tests.factories import CorpFactory
from siyu.groups.models import CustomerGroup, GroupMember, GroupMemberEvent


class CustomerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerGroup

    corp = factory.SubFactory(CorpFactory)
    chat_id = factory.Sequence(lambda n: f"wrCHAT{n:06d}")
    name = factory.Sequence(lambda n: f"客户群{n}")
    owner_userid = factory.LazyAttribute(lambda o: o.owner.userid if o.owner else "")
    owner = None
    created_in_wecom_at = factory.LazyFunction(timezone.now)


class GroupMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GroupMember

    group = factory.SubFactory(CustomerGroupFactory)
    corp = factory.SelfAttribute("group.corp")
    member_type = GroupMember.Type.EXTERNAL
    userid = factory.Sequence(lambda n: f"wmMEMBER{n:06d}")
    join_time = factory.LazyFunction(timezone.now)
    join_scene = 3


class GroupMemberEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GroupMemberEvent

    group = factory.SubFactory(CustomerGroupFactory)
    corp = factory.SelfAttribute("group.corp")
    kind = GroupMemberEvent.Kind.JOINED
    member_type = GroupMember.Type.EXTERNAL
    userid = factory.Sequence(lambda n: f"wmMEMBER{n:06d}")
    occurred_at = factory.LazyFunction(timezone.now)
