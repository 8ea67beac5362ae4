"""Which orders are paid, and by whom: the vault's own view of checkout's PaymentCaptured events.

Consumes ``checkout.orders.v1`` (PaymentCaptured only). Owns ``paid_orders``
{_id: order_id, buyer_id, merchant_id, captured_at}, written through the unit of work with the
event's id as the inbox mark, so a redelivered event changes nothing. merchant-relay may read a
buyer's shipping address only for an order recorded here as paid by that buyer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo.collection import Collection

from buybutton.events import PaymentCaptured
from buybutton.unit_of_work import Aggregate, Change, MongoAggregateStore


async def record_paid_order(event: PaymentCaptured, *, paid_orders: MongoAggregateStore) -> None:
    def decide(order: Aggregate) -> Change | None:
        if order.exists:
            return None  # paid once; a second capture of the same order changes nothing
        state = {
            "buyer_id": event.buyer_id,
            "merchant_id": event.merchant_id,
            "captured_at": event.occurred_at,
        }
        return Change(state)

    await asyncio.to_thread(paid_orders.apply, event.order_id, decide, cause=event.event_id)


def is_paid_by(paid_orders: Collection[dict[str, Any]], order_id: str, buyer_id: str) -> bool:
    return paid_orders.find_one({"_id": order_id, "buyer_id": buyer_id}, {"_id": 1}) is not None
