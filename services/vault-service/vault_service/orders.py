"""The vault's own view of checkout's orders: which buyer each order is for and how far it got.
It is what ties a service's read of a buyer's data to an order of that buyer.

Consumes ``checkout.orders.v1``: BuyClicked (the order is open), PaymentCaptured (paid),
PaymentFailed (failed), OrderCancelled (cancelled); other events are skipped. Owns ``orders``
{_id: order_id, buyer_id, merchant_id, status, opened_at, captured_at | failed_at |
cancelled_at}, written through the unit of work with the event's id as the inbox mark, so a
redelivered event changes nothing.

The rule it keeps: a status only moves forward (open -> failed -> cancelled -> paid: a failed
payment closes the order, a cancellation outranks it, a captured payment outranks both), and
each event fills in what it knows, so events that arrive out of order (a dead letter replayed
later) end in the same view. checkout-service may read a buyer's payment references only for an
open order of that buyer (it charges before PaymentCaptured); merchant-relay may read a shipping
address only for a paid one. An order the view has not seen yet is told apart from one it has
seen (``standing_of``): checkout's payment worker may ask before the vault consumed BuyClicked,
and should ask again. No personal data is kept.
"""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

from pymongo.collection import Collection

from buybutton.events import BuyClicked, OrderCancelled, OrderEvent, PaymentCaptured, PaymentFailed
from buybutton.unit_of_work import Aggregate, Change, MongoAggregateStore

OPEN, FAILED, CANCELLED, PAID = "open", "failed", "cancelled", "paid"
RANK = {OPEN: 0, FAILED: 1, CANCELLED: 2, PAID: 3}


class Standing(Enum):
    """Where an order stands for one buyer, as far as the view knows."""

    NOT_SEEN = "not seen yet"
    OTHER_BUYER = "an order of another buyer"
    OPEN = OPEN
    PAID = PAID
    CLOSED = "closed"  # failed or cancelled


def _advanced(order: Aggregate, facts: dict[str, Any], status: str) -> Change | None:
    """The order with ``facts`` filled in (a fact already known stays) and ``status`` if it is
    further on; None when that changes nothing."""
    state = dict(order.state or {})
    for name, value in facts.items():
        state.setdefault(name, value)
    if "status" not in state or RANK[status] > RANK[state["status"]]:
        state["status"] = status
    return None if state == order.state else Change(state)


async def _record(
    event: OrderEvent, facts: dict[str, Any], status: str, *, orders: MongoAggregateStore
) -> None:
    await asyncio.to_thread(
        orders.apply, event.order_id, lambda order: _advanced(order, facts, status), cause=event.event_id
    )


async def record_order_opened(event: BuyClicked, *, orders: MongoAggregateStore) -> None:
    facts = {"buyer_id": event.buyer_id, "merchant_id": event.merchant_id, "opened_at": event.occurred_at}
    await _record(event, facts, OPEN, orders=orders)


async def record_order_paid(event: PaymentCaptured, *, orders: MongoAggregateStore) -> None:
    facts = {"buyer_id": event.buyer_id, "merchant_id": event.merchant_id, "captured_at": event.occurred_at}
    await _record(event, facts, PAID, orders=orders)


async def record_payment_failed(event: PaymentFailed, *, orders: MongoAggregateStore) -> None:
    facts = {"buyer_id": event.buyer_id, "merchant_id": event.merchant_id, "failed_at": event.occurred_at}
    await _record(event, facts, FAILED, orders=orders)


async def record_order_cancelled(event: OrderCancelled, *, orders: MongoAggregateStore) -> None:
    facts = {"merchant_id": event.merchant_id, "cancelled_at": event.occurred_at}
    await _record(event, facts, CANCELLED, orders=orders)


def _has_status(orders: Collection[dict[str, Any]], order_id: str, buyer_id: str, status: str) -> bool:
    return orders.find_one({"_id": order_id, "buyer_id": buyer_id, "status": status}, {"_id": 1}) is not None


def is_open_for(orders: Collection[dict[str, Any]], order_id: str, buyer_id: str) -> bool:
    """An order of this buyer that exists and is neither paid nor cancelled."""
    return _has_status(orders, order_id, buyer_id, OPEN)


def is_paid_by(orders: Collection[dict[str, Any]], order_id: str, buyer_id: str) -> bool:
    return _has_status(orders, order_id, buyer_id, PAID)


def standing_of(orders: Collection[dict[str, Any]], order_id: str, buyer_id: str) -> Standing:
    order = orders.find_one({"_id": order_id}, {"buyer_id": 1, "status": 1})
    if order is None:
        return Standing.NOT_SEEN
    if order.get("buyer_id", buyer_id) != buyer_id:  # OrderCancelled alone does not name the buyer
        return Standing.OTHER_BUYER
    if order["status"] in (OPEN, PAID):
        return Standing(order["status"])
    return Standing.CLOSED
