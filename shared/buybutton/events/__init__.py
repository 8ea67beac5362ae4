"""The published event contracts: one pydantic model per event, plus the envelope they share."""

from buybutton.events.catalog import ALL_EVENTS, UnknownEventType, model_for
from buybutton.events.checkout import (
    BuyClicked,
    OrderCancelled,
    OrderConfirmed,
    OrderEvent,
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
from buybutton.events.tweets import (
    Product,
    ProductPriceChanged,
    ProductRestocked,
    TweetWithProductPosted,
    Variant,
)
from buybutton.events.vault import BuyerDataErased, BuyerProfileSaved

__all__ = [
    "ALL_EVENTS",
    "BuyClicked",
    "BuyerDataErased",
    "BuyerProfileSaved",
    "Event",
    "MerchantDeliveryChanged",
    "MerchantProfileChanged",
    "OrderCancelled",
    "OrderConfirmed",
    "OrderEvent",
    "OrderForwarded",
    "OrderFulfilled",
    "OrderShipped",
    "PaymentActionRequired",
    "PaymentCaptured",
    "PaymentCheckRequested",
    "PaymentFailed",
    "PaymentRefunded",
    "Product",
    "ProductPriceChanged",
    "ProductRestocked",
    "RefundRequested",
    "RolloutChanged",
    "StockAvailabilityChanged",
    "TweetWithProductPosted",
    "UnknownEventType",
    "Variant",
    "model_for",
]
