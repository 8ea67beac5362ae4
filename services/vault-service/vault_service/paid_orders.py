"""Which orders are paid, and by whom: the vault's own view of checkout's PaymentCaptured events.

Consumes ``checkout.orders.v1`` (PaymentCaptured only). Owns ``paid_orders``
{_id: order_id, buyer_id, merchant_id}. merchant-relay may read a buyer's shipping address only
for an order recorded here as paid by that buyer. Recording is idempotent (keyed by order id),
so a redelivered event changes nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo.collection import Collection

from buybutton.events import PaymentCaptured


async def record_paid_order(event: PaymentCaptured, *, paid_orders: Collection[dict[str, Any]]) -> None:
    await asyncio.to_thread(
        paid_orders.update_one,
        {"_id": event.order_id},
        {
            "$setOnInsert": {
                "buyer_id": event.buyer_id,
                "merchant_id": event.merchant_id,
                "captured_at": event.occurred_at,
            }
        },
        upsert=True,
    )


def is_paid_by(paid_orders: Collection[dict[str, Any]], order_id: str, buyer_id: str) -> bool:
    return paid_orders.find_one({"_id": order_id, "buyer_id": buyer_id}, {"_id": 1}) is not None
