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


class OrderConfirmed(OrderEvent):
    """The buyer confirmed the order (new shipping and payment method, or the saved ones); the
    payment worker charges it. Carries no address, card or Stripe customer/payment-method id."""

    event_type: Literal["OrderConfirmed"] = "OrderConfirmed"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    buyer_id: Identifier
    amount: Money
    uses_saved_profile: bool = Field(description="one tap: the vault's saved payment method, off session")


class PaymentActionRequired(OrderEvent):
    """Stripe asks the buyer to authenticate (3-D Secure) before the payment can go through."""

    event_type: Literal["PaymentActionRequired"] = "PaymentActionRequired"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    payment_reference: Identifier = Field(description="the Stripe PaymentIntent id")


class PaymentCheckRequested(OrderEvent):
    """Something says the order's payment may have moved on at Stripe (a verified webhook, the
    buyer back from 3-D Secure, an expired hold): the payment worker asks Stripe and settles it."""

    event_type: Literal["PaymentCheckRequested"] = "PaymentCheckRequested"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    reason: Literal["stripe_webhook", "buyer_returned", "hold_expired"]
    stripe_event_id: Identifier | None = None


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
    payout: Money | None = Field(default=None, description="amount - platform_fee, to the merchant")


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


class RefundRequested(OrderEvent):
    """A platform admin or the order's merchant asked for money back; the payment worker refunds
    it at Stripe (idempotency key: the refund id) and then publishes PaymentRefunded."""

    event_type: Literal["RefundRequested"] = "RefundRequested"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    refund_id: Identifier = Field(description="checkout's id of this refund, a pure function of the request")
    amount: Money
    requested_by: Literal["admin", "merchant"]
    reason: str = Field(max_length=200)


class PaymentRefunded(OrderEvent):
    """Money went back to the buyer (all or part of the captured amount)."""

    event_type: Literal["PaymentRefunded"] = "PaymentRefunded"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    amount: Money
    refund_reference: Identifier = Field(description="the Stripe Refund id")
    reason: str = Field(max_length=200)


class StockAvailabilityChanged(Event):
    """A variant became sold out, or sellable again, in checkout's count (supplied - held - sold);
    tweet-service shows it on the card. Keyed by tweet_id; ``sequence`` orders a tweet's changes."""

    key_field = "tweet_id"
    event_type: Literal["StockAvailabilityChanged"] = "StockAvailabilityChanged"
    schema_version: Literal[1] = 1

    tweet_id: Identifier
    variant_id: Identifier
    sold_out: bool
