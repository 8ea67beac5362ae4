"""Events written by checkout-service to the checkout topic, keyed by order_id."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from buybutton.events.envelope import Event, Identifier
from buybutton.money import BasisPoints, Money

CancelReason = Literal["hold_expired", "buyer_cancelled", "payment_failed", "merchant_rejected"]


class OrderEvent(Event):
    """An event about one order; keyed, and therefore ordered, by order_id."""

    key_field = "order_id"
    order_id: Identifier


class BuyClicked(OrderEvent):
    """A buyer tapped Buy: the order exists and its stock is held until ``hold_expires_at``."""

    event_type: Literal["BuyClicked"] = "BuyClicked"
    schema_version: Literal[1] = 1

    tweet_id: Identifier
    merchant_id: Identifier
    buyer_id: Identifier
    product_id: Identifier
    variant_id: Identifier
    quantity: int = Field(ge=1, le=100)
    amount: Money = Field(description="unit price times quantity, decided by the server")
    hold_expires_at: datetime


class PaymentCaptured(OrderEvent):
    """Stripe captured the money. ``platform_fee`` is ``amount`` at ``fee_bps``, half-up."""

    event_type: Literal["PaymentCaptured"] = "PaymentCaptured"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    buyer_id: Identifier
    amount: Money
    platform_fee: Money
    fee_bps: BasisPoints
    payment_reference: Identifier = Field(description="the Stripe PaymentIntent id")


class PaymentFailed(OrderEvent):
    """The payment was declined or could not be completed; the order will not be charged."""

    event_type: Literal["PaymentFailed"] = "PaymentFailed"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    buyer_id: Identifier
    failure_code: Identifier = Field(description="Stripe decline or error code")
    retryable: bool = False


class OrderCancelled(OrderEvent):
    """The order ended without payment; its held stock is released."""

    event_type: Literal["OrderCancelled"] = "OrderCancelled"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    reason: CancelReason
    released_quantity: int = Field(ge=0)


class PaymentRefunded(OrderEvent):
    """Money went back to the buyer (all or part of the captured amount)."""

    event_type: Literal["PaymentRefunded"] = "PaymentRefunded"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    amount: Money
    refund_reference: Identifier = Field(description="the Stripe Refund id")
    reason: str = Field(max_length=200)
