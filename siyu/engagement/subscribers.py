"""What the engagement app does when a customer is added (found by siyu.core's autodiscovery).

The welcome itself does not wait for this: the lane (siyu.engagement.lane) sent it from the
stored callback, before the add's customer was stored. Once it is, the delivery is linked to
the customer, in the same transaction that publishes the add.
"""

from siyu.core.events import ATOMIC, subscribe
from siyu.customers.events import CustomerAdded
from siyu.engagement.services import welcome_delivery_link_customer


@subscribe(CustomerAdded, mode=ATOMIC, when=lambda event: bool(event.event_key))
def link_welcome_to_customer(event: CustomerAdded) -> None:
    welcome_delivery_link_customer(corp_id=event.corp_id, event_key=event.event_key,
                                   customer_id=event.customer_id)
