"""Events written by merchant-relay: to the relay topic, keyed by order_id (what merchants
received and reported back), and to the merchant activity topic, keyed by merchant_id (how each
delivery to a merchant stands, folded into the per-merchant statistics)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from buybutton.events.checkout import OrderEvent
from buybutton.events.envelope import Event, Identifier
from buybutton.money import Money

DeliveryChannel = Literal["topic", "webhook"]
DeliveryKind = Literal["order.paid", "order.refunded", "order.cancelled"]
DeliveryStanding = Literal["pending", "failing", "delivered", "dead", "gone"]


class OrderForwarded(OrderEvent):
    """The merchant has the order, through its own topic and/or a signed webhook."""

    event_type: Literal["OrderForwarded"] = "OrderForwarded"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    channels: list[DeliveryChannel] = Field(min_length=1)


class OrderShipped(OrderEvent):
    """The merchant reported that a physical order left with a carrier."""

    event_type: Literal["OrderShipped"] = "OrderShipped"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    carrier: str = Field(min_length=1, max_length=60)
    tracking_number: str = Field(min_length=1, max_length=80)


class OrderFulfilled(OrderEvent):
    """The merchant reported that a digital order was delivered."""

    event_type: Literal["OrderFulfilled"] = "OrderFulfilled"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    delivery_reference: str = Field(min_length=1, max_length=200)
    # delivery_reference: the licence key itself, or for a download a short reference (dl_...)
    download_link: str | None = Field(
        default=None,
        max_length=2048,
        pattern=r"^https://",
        description="the download of the digital good (https); absent when a licence key was delivered",
    )


class MerchantDeliveryChanged(Event):
    """How one delivery to a merchant stands changed (``previous`` to ``standing``), or a paid
    order first reached the merchant (``forwarded``: with what it is worth). Written in the same
    write as the change, so each change is told once (repeats keep the event_id)."""

    key_field = "merchant_id"
    event_type: Literal["MerchantDeliveryChanged"] = "MerchantDeliveryChanged"
    schema_version: Literal[1] = 1

    merchant_id: Identifier
    order_id: Identifier
    delivery_id: str = Field(pattern=r"^msg_[0-9a-f]{32}$", description="the webhook-id")
    kind: DeliveryKind
    previous: DeliveryStanding | None = Field(description="None: first attempt's outcome")
    standing: DeliveryStanding = Field(
        description="failing: pending after a failed attempt; pending: sent again after it died"
    )
    forwarded: bool = Field(default=False, description="this change is the paid order's first arrival")
    amount: Money | None = Field(default=None, description="the order's amount, when forwarded")
    payout: Money | None = Field(default=None, description="what the merchant is paid, when forwarded")
