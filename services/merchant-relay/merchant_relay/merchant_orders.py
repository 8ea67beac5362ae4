"""What a merchant is shown of its orders: reads ``relay_orders`` (the pipeline's merchant copy
and the merchant's own reports) and ``deliveries`` (one per webhook sent: order.paid,
order.refunded, order.cancelled), newest first in pages. Writes nothing.

A merchant sees only orders whose ``merchant_id`` is its own; the order as the pipeline copied
it for the merchant (line items, amounts, currency, platform fee, payout: never an address, a
contact, card data or a Stripe id, which the relay never stores), the channels it went out on,
each webhook delivery's state (pending, delivered, dead, gone) with its attempts and last HTTP
status, and what the merchant reported (acknowledged_at, shipment, fulfilment). The buyer's id
is not shown: shipping needs none of it. The list's cursor is opaque (``buybutton.cursors``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from buybutton.cursors import NEWEST_FIRST, Position, encode_cursor, older_than
from merchant_relay.merchant_reports import COLLECTION

DELIVERIES = "deliveries"


class DeliveryShown(BaseModel):
    webhook_id: str
    kind: str
    state: str
    attempts: int = 0
    # as the delivery worker records it: the HTTP status ("200", "503") or what failed without
    # one ("vault unavailable", "topic publish failed", "ConnectTimeout")
    last_status: str | None = None
    first_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None


class ShipmentShown(BaseModel):
    carrier: str
    tracking_number: str


class FulfilmentShown(BaseModel):
    delivery_reference: str
    download_link: str | None = None
    licence_key: str | None = None


class MerchantOrderView(BaseModel):
    order_id: str
    state: str
    created_at: datetime | None = None
    order: dict[str, Any]
    channels: list[str] | dict[str, Any] | None = None
    deliveries: list[DeliveryShown]
    acknowledged_at: datetime | None = None
    shipment: ShipmentShown | None = None
    fulfilment: FulfilmentShown | None = None


class MerchantOrderPage(BaseModel):
    orders: list[MerchantOrderView]
    next_cursor: str | None


def ensure_indexes(db: Database[dict[str, Any]]) -> None:
    db[COLLECTION].create_index([("merchant_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)])
    db[DELIVERIES].create_index([("order_id", ASCENDING)])


def _delivery(document: Mapping[str, Any]) -> DeliveryShown:
    fields = {name: document.get(name) for name in DeliveryShown.model_fields if name != "webhook_id"}
    return DeliveryShown(webhook_id=document["_id"], **{k: v for k, v in fields.items() if v is not None})


def merchant_order_view(
    order_id: str, order: Mapping[str, Any], deliveries: list[Mapping[str, Any]]
) -> MerchantOrderView:
    return MerchantOrderView(
        order_id=order_id,
        state=order["state"],
        created_at=order.get("created_at"),
        order=dict(order.get("order") or {}),
        channels=order.get("channels"),
        deliveries=[_delivery(d) for d in deliveries],
        acknowledged_at=order.get("acknowledged_at"),
        shipment=order.get("shipment"),
        fulfilment=order.get("fulfilment"),
    )


def _deliveries_of(deliveries: Collection[dict[str, Any]], order_ids: list[str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {order_id: [] for order_id in order_ids}
    for delivery in deliveries.find({"order_id": {"$in": order_ids}}).sort("_id", ASCENDING):
        found[delivery["order_id"]].append(delivery)
    return found


def merchant_orders(
    orders: Collection[dict[str, Any]],
    deliveries: Collection[dict[str, Any]],
    merchant_id: str,
    *,
    limit: int,
    after: Position | None,
) -> MerchantOrderPage:
    query = {"merchant_id": merchant_id, **older_than(after)}
    found = list(orders.find(query, {"outbox": 0, "inbox": 0}).sort(NEWEST_FIRST).limit(limit))
    of_order = _deliveries_of(deliveries, [o["_id"] for o in found])
    return MerchantOrderPage(
        orders=[merchant_order_view(o["_id"], o, of_order[o["_id"]]) for o in found],
        next_cursor=encode_cursor(found[-1]) if len(found) == limit else None,
    )


def merchant_order(
    orders: Collection[dict[str, Any]],
    deliveries: Collection[dict[str, Any]],
    merchant_id: str,
    order_id: str,
) -> MerchantOrderView | None:
    order = orders.find_one({"_id": order_id, "merchant_id": merchant_id}, {"outbox": 0, "inbox": 0})
    if order is None:
        return None
    return merchant_order_view(order_id, order, _deliveries_of(deliveries, [order_id])[order_id])
