"""The relay's consume side: consumer group ``merchant-relay`` over checkout.orders.v1, lanes
keyed by order_id (each order's events in order, orders side by side).

Consumes BuyClicked (the line items, kept until paid), PaymentCaptured (the merchant's copy,
and the ``order.paid`` delivery), PaymentRefunded (the refund, and an ``order.refunded``
delivery: the n-th refund of an order its own), OrderCancelled (for an order the merchant was
told was paid: an ``order.cancelled`` delivery); other events are skipped. Produces nothing
itself: each event is one unit of work on relay_orders with the event's id as its cause, then
the delivery is ensured (deliveries.Deliveries.ensure: found or created, so a redelivered event,
or one whose first handling died between the two writes, ends with exactly one delivery), and
``on_due`` tells this instance's delivery lanes a delivery is due now (they need not wait for
their next look).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from buybutton.events import BuyClicked, OrderCancelled, PaymentCaptured, PaymentRefunded
from buybutton.events.relay import DeliveryKind
from buybutton.kafka.consumer import Routes
from buybutton.unit_of_work import AggregateStore, Decide, Outcome
from merchant_relay import relay_orders
from merchant_relay.deliveries import Deliveries


@dataclass
class OrderIntake:
    orders: AggregateStore
    deliveries: Deliveries
    clock: Callable[[], datetime]
    on_due: Callable[[], None] = lambda: None

    async def _apply(self, order_id: str, decide: Decide, cause: str) -> Outcome:
        return await asyncio.to_thread(self.orders.apply, order_id, decide, cause=cause)

    async def _deliver(self, order_id: str, merchant_id: str, kind: DeliveryKind, number: int = 1) -> None:
        await asyncio.to_thread(
            self.deliveries.ensure, order_id, merchant_id, kind, now=self.clock(), number=number
        )
        self.on_due()

    async def on_clicked(self, event: BuyClicked) -> None:
        await self._apply(event.order_id, relay_orders.clicked(event), event.event_id)

    async def on_captured(self, event: PaymentCaptured) -> None:
        outcome = await self._apply(event.order_id, relay_orders.paid(event), event.event_id)
        if (outcome.aggregate.state or {}).get("order") is not None:
            await self._deliver(event.order_id, event.merchant_id, "order.paid")

    async def on_refunded(self, event: PaymentRefunded) -> None:
        outcome = await self._apply(event.order_id, relay_orders.refunded(event), event.event_id)
        refunds = (outcome.aggregate.state or {}).get("refunds", [])
        numbers = [n for n, r in enumerate(refunds, start=1) if r.get("event_id") == event.event_id]
        if numbers:
            await self._deliver(event.order_id, event.merchant_id, "order.refunded", number=numbers[0])

    async def on_cancelled(self, event: OrderCancelled) -> None:
        outcome = await self._apply(event.order_id, relay_orders.cancelled(event), event.event_id)
        state = outcome.aggregate.state or {}
        if state.get("state") == relay_orders.CANCELLED and state.get("order") is not None:
            await self._deliver(event.order_id, event.merchant_id, "order.cancelled")

    def routes(self) -> Routes:
        return {
            BuyClicked: self.on_clicked,
            PaymentCaptured: self.on_captured,
            PaymentRefunded: self.on_refunded,
            OrderCancelled: self.on_cancelled,
        }
