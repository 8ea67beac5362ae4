"""Every published event model, looked up by (event_type, schema_version).

This is the one list a reader uses to turn bytes back into a model, and the list the schema
snapshots are checked against.
"""

from __future__ import annotations

from buybutton.events.checkout import (
    BuyClicked,
    OrderCancelled,
    OrderConfirmed,
    PaymentActionRequired,
    PaymentCaptured,
    PaymentCheckRequested,
    PaymentFailed,
    PaymentRefunded,
    RefundRequested,
    StockAvailabilityChanged,
)
from buybutton.events.envelope import Event
from buybutton.events.merchants import MerchantProfileChanged
from buybutton.events.relay import MerchantDeliveryChanged, OrderForwarded, OrderFulfilled, OrderShipped
from buybutton.events.rollout import RolloutChanged
from buybutton.events.tweets import ProductPriceChanged, ProductRestocked, TweetWithProductPosted
from buybutton.events.vault import BuyerDataErased, BuyerProfileSaved

ALL_EVENTS: tuple[type[Event], ...] = (
    TweetWithProductPosted,
    ProductRestocked,
    ProductPriceChanged,
    MerchantProfileChanged,
    BuyClicked,
    OrderConfirmed,
    PaymentActionRequired,
    PaymentCheckRequested,
    PaymentCaptured,
    PaymentFailed,
    OrderCancelled,
    RefundRequested,
    PaymentRefunded,
    StockAvailabilityChanged,
    OrderForwarded,
    OrderShipped,
    OrderFulfilled,
    MerchantDeliveryChanged,
    RolloutChanged,
    BuyerProfileSaved,
    BuyerDataErased,
)

_BY_TYPE_AND_VERSION: dict[tuple[str, int], type[Event]] = {
    (model.type_name(), model.version()): model for model in ALL_EVENTS
}


class UnknownEventType(LookupError):
    """No model is published for this (event_type, schema_version)."""


def model_for(event_type: str, schema_version: int) -> type[Event]:
    try:
        return _BY_TYPE_AND_VERSION[(event_type, schema_version)]
    except KeyError:
        raise UnknownEventType(f"no model for {event_type} v{schema_version}") from None
