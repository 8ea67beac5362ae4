"""The vault's own view of checkout's orders: which buyer each order is for and how far it got.
It is what ties a service's read of a buyer's data to an order of that buyer.

Consumes ``checkout.orders.v1``: BuyClicked (the order is open), PaymentCaptured (paid),
OrderCancelled (cancelled); other events are skipped. Owns ``orders`` {_id: order_id, buyer_id,
merchant_id, status, opened_at, captured_at | cancelled_at}, written through the unit of work
with the event's id as the inbox mark, so a redelivered event changes nothing.

The rule it keeps: a status only moves forward (open -> paid or cancelled; a captured payment
outranks a cancellation), and each event fills in what it knows, so events that arrive out of
order (a dead letter replayed later) end in the same view. checkout-service may read a buyer's
payment references only for an open order of that buyer (it charges before PaymentCaptured);
merchant-relay may read a shipping address only for a paid one. No personal data is kept.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo.collection import Collection

from buybutton.events import BuyClicked, OrderCancelled, OrderEvent, PaymentCaptured
from buybutton.unit_of_work import Aggregate, Change, MongoAggregateStore

OPEN, PAID, CANCELLED = "open", "paid", "cancelled"
RANK = {OPEN: 0, CANCELLED: 1, PAID: 2}


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
