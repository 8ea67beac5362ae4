"""What a buyer is shown of an order, and the buyer's order list, newest first, in pages.

A buyer sees the amount (unit price times quantity), never the platform fee or the merchant's
Stripe account (platform economics), nor the hash of the Idempotency-Key, nor Stripe's
customer or payment-method ids; the card only as brand and last four digits; 3-D Secure's
``next_action`` while the order waits for it; once its merchant reported it (merchant-relay's
OrderShipped / OrderFulfilled), ``shipment`` (carrier, tracking number) and ``fulfilment`` (the
delivery reference, and the download link of a digital good). The list's cursor is opaque to
callers (``buybutton.cursors``); one that does not parse answers 422.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pymongo.collection import Collection

from buybutton.cursors import NEWEST_FIRST, Position, encode_cursor, older_than
from buybutton.money import Money


class NextAction(BaseModel):
    """3-D Secure: finish it with Stripe.js (``client_secret``) or by opening ``redirect_url``."""

    client_secret: str
    redirect_url: str | None = None


class CardShown(BaseModel):
    brand: str
    last4: str


class ShipmentShown(BaseModel):
    """The merchant's report that the goods left: the carrier and its tracking number."""

    carrier: str
    tracking_number: str


class FulfilmentShown(BaseModel):
    """The merchant's report that a digital good was delivered: its reference (a licence key
    itself, or a reference of the download) and, for a download, the link."""

    delivery_reference: str
    download_link: str | None = None


class OrderView(BaseModel):
    order_id: str
    state: str
    tweet_id: str
    merchant_id: str
    product_id: str
    variant_id: str
    quantity: int
    unit_price: Money
    amount: Money
    hold_expires_at: datetime
    created_at: datetime
    cancel_reason: str | None = None
    failure_code: str | None = None
    next_action: NextAction | None = None
    card: CardShown | None = None
    refunded: Money | None = None
    shipment: ShipmentShown | None = None
    fulfilment: FulfilmentShown | None = None


class SavedProfileHint(BaseModel):
    """What the vault keeps for one tap, masked: enough to recognise, nothing to reuse."""

    card: dict[str, Any] | None
    ship_to: dict[str, Any] | None


class BuyAnswer(OrderView):
    saved_profile: SavedProfileHint | None = None


class OrderPage(BaseModel):
    orders: list[OrderView]
    next_cursor: str | None


def order_view(order_id: str, order: Mapping[str, Any]) -> OrderView:
    fields = {name: order.get(name) for name in OrderView.model_fields if name not in ("order_id", "card")}
    card = order.get("card")
    shown = CardShown(brand=card["brand"], last4=card["last4"]) if card else None
    return OrderView(order_id=order_id, card=shown, **fields)


def buyer_orders(
    orders: Collection[dict[str, Any]], buyer_id: str, *, limit: int, after: Position | None
) -> OrderPage:
    query: dict[str, Any] = {"buyer_id": buyer_id, **older_than(after)}
    found = list(orders.find(query).sort(NEWEST_FIRST).limit(limit))
    return OrderPage(
        orders=[order_view(o["_id"], o) for o in found],
        next_cursor=encode_cursor(found[-1]) if len(found) == limit else None,
    )
