"""What a merchant receives, on its topic and by webhook: one Standard Webhooks style message
``{type, timestamp, data}`` whose ``data`` is the merchant's copy of the order.

The rule it keeps: only what the merchant needs to ship and account for the order. Line items,
amounts, currency, the platform fee and the payout; the shipping address and the buyer's contact
only as the vault gives them at send time (none after an erasure). Never card data, never a
Stripe customer, payment-method or PaymentIntent id (PaymentCaptured's ``payment_reference``
stays here), never the platform's buyer id. Every model forbids unknown fields, so nothing can
ride along by accident (the schema test lists every field a payload can carry).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from buybutton.addresses import ShippingAddress
from buybutton.events.relay import DeliveryKind
from buybutton.money import Money

DELIVERY_KINDS: tuple[DeliveryKind, ...] = ("order.paid", "order.refunded", "order.cancelled")


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LineItem(Strict):
    tweet_id: str
    product_id: str
    variant_id: str
    quantity: int = Field(ge=1)
    unit_price: Money


class MerchantOrder(Strict):
    """The merchant's copy as the relay keeps it (relay_orders.order): no address, no contact."""

    order_id: str
    merchant_id: str
    line_items: list[LineItem]
    amount: Money
    platform_fee: Money
    fee_bps: int
    payout: Money
    paid_at: datetime


class Refund(Strict):
    amount: Money
    reason: str


class ShipTo(ShippingAddress):
    """The address to ship to (a list's ``is_default`` means nothing here)."""

    is_default: bool = Field(default=False, exclude=True)


class OrderData(MerchantOrder):
    """The merchant's copy as sent: the kept copy plus what the vault answered for this send."""

    shipping_address: ShipTo | None = None
    contact_email: str | None = None
    refunded: list[Refund] = Field(default_factory=list)
    cancel_reason: str | None = None


class MerchantMessage(Strict):
    type: DeliveryKind
    timestamp: datetime
    data: OrderData


def message_for(
    kind: DeliveryKind,
    relay_order: dict[str, Any],
    shipping: dict[str, Any] | None,
    *,
    now: datetime,
) -> MerchantMessage:
    """The message for ``kind`` of one relay order, with the vault's answer (None: erased)."""
    kept = MerchantOrder.model_validate(relay_order["order"])
    address = (shipping or {}).get("shipping_address")
    data = OrderData(
        **kept.model_dump(),
        shipping_address=ShipTo.model_validate(address) if address else None,
        contact_email=(shipping or {}).get("contact_email"),
        refunded=[Refund(amount=r["amount"], reason=r["reason"]) for r in relay_order.get("refunds", [])],
        cancel_reason=relay_order.get("cancel_reason"),
    )
    return MerchantMessage(type=kind, timestamp=now, data=data)
