from django.utils import translation

from siyu.customers.models import FollowRelation, TimelineEvent
from siyu.customers.services import customer_tag, follow_end, timeline_add


def summaries(world, customer):
    return [e.display_summary for e in TimelineEvent.objects.for_corp(world.corp)
            .filter(customer=customer).select_related("employee").order_by("id")]


def test_timeline_reads_in_the_readers_language(world):
    customer = world.customers["A1"]
    with translation.override("zh-hans"):
        customer_tag(corp=world.corp, actor=world.staff_a, customer=customer,
                     tags=[world.tags["vip"]])
        follow = FollowRelation.objects.for_corp(world.corp).get(customer=customer)
        follow_end(corp=world.corp, actor=None, follow=follow, deleted_by="customer")
    with translation.override("en"):
        assert summaries(world, customer) == ["Tag added: VIP",
                                              "Customer deleted the employee"]
    with translation.override("zh-hans"):
        english = "Tag added: VIP"
        assert english not in summaries(world, customer)


def test_user_text_is_shown_as_written(world):
    customer = world.customers["A2"]
    timeline_add(corp=world.corp, customer=customer, kind=TimelineEvent.Kind.NOTE,
                 summary="老规矩：少糖")
    with translation.override("en"):
        assert summaries(world, customer) == ["老规矩：少糖"]
