"""What a buyer is shown of an order, and the buyer's order list, newest first, in pages.

A buyer sees the amount (unit price times quantity), never the platform fee or the merchant's
Stripe account (platform economics), nor the hash of the Idempotency-Key, nor Stripe's
customer or payment-method ids; the card only as brand and last four digits; 3-D Secure's
``next_action`` while the order waits for it. The list's cursor is
opaque to callers: the (created_at, order_id) of the last order shown; one that does not parse
answers 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from pymongo.collection import Collection

from buybutton.money import Money

Position = tuple[datetime, str]


class NextAction(BaseModel):
    """3-D Secure: finish it with Stripe.js (``client_secret``) or by opening ``redirect_url``."""

    client_secret: str
    redirect_url: str | None = None


class CardShown(BaseModel):
    brand: str
    last4: str


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


def encode_cursor(order: Mapping[str, Any]) -> str:
    raw = json.dumps([order["created_at"].astimezone(UTC).isoformat(), order["_id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(cursor: str | None) -> Position | None:
    if cursor is None:
        return None
    try:
        created_at, order_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None or not isinstance(order_id, str):
            raise ValueError("incomplete cursor")
        return moment.astimezone(UTC), order_id
    except (ValueError, TypeError, OverflowError, binascii.Error):
        raise RequestValidationError(
            [{"loc": ("query", "cursor"), "msg": "not a cursor this API gave out", "type": "value_error"}]
        ) from None


def buyer_orders(
    orders: Collection[dict[str, Any]], buyer_id: str, *, limit: int, after: Position | None
) -> OrderPage:
    query: dict[str, Any] = {"buyer_id": buyer_id}
    if after is not None:
        created_at, order_id = after
        query["$or"] = [
            {"created_at": {"$lt": created_at}},
            {"created_at": created_at, "_id": {"$lt": order_id}},
        ]
    found = list(orders.find(query).sort([("created_at", -1), ("_id", -1)]).limit(limit))
    return OrderPage(
        orders=[order_view(o["_id"], o) for o in found],
        next_cursor=encode_cursor(found[-1]) if len(found) == limit else None,
    )
