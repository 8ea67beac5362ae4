"""Events written by merchant-relay to the relay topic, keyed by order_id."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from buybutton.events.checkout import OrderEvent
from buybutton.events.envelope import Identifier

DeliveryChannel = Literal["topic", "webhook"]


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
