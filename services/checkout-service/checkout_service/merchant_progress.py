"""What merchant-relay reports about a paid order, applied to checkout's order: consumes
relay.deliveries.v1 (OrderForwarded, OrderShipped, OrderFulfilled) and produces nothing.

The order moves to forwarded, shipped or fulfilled through the state machine
(``order_states.after_event``), so a late, repeated or out-of-order report never moves it
backwards, and a refunded order stays refunded. The details the buyer is shown (``shipment``:
carrier and tracking number; ``fulfilment``: delivery reference and download link) are kept
from the first report of each kind for an order that was paid, even when its state can no
longer move (a shipment reported after a refund is still where the parcel is). A report for
another merchant than the order's, or for an order checkout does not know, changes nothing.
Each is one unit of work caused by the event's id (a redelivery changes nothing).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from buybutton.events import OrderForwarded, OrderFulfilled, OrderShipped
from buybutton.kafka.consumer import Routes
from buybutton.unit_of_work import Aggregate, AggregateStore, Change
from checkout_service.order_states import after_event

log = structlog.get_logger(__name__)
RelayReport = OrderForwarded | OrderShipped | OrderFulfilled
PAID_OR_LATER = frozenset({"paid", "forwarded", "shipped", "fulfilled", "refunded"})


def details_of(event: RelayReport) -> tuple[str, dict[str, Any]] | None:
    """The field the buyer's view shows for this report, and its value (None: forwarded)."""
    if isinstance(event, OrderShipped):
        return "shipment", {"carrier": event.carrier, "tracking_number": event.tracking_number}
    if isinstance(event, OrderFulfilled):
        fulfilment = {"delivery_reference": event.delivery_reference, "download_link": event.download_link}
        return "fulfilment", fulfilment
    return None


def apply_report(order: Aggregate, event: RelayReport) -> Change | None:
    state = order.state
    if state is None or state["merchant_id"] != event.merchant_id or state["state"] not in PAID_OR_LATER:
        return None
    new_state = {**state, "state": after_event(state["state"], event.event_type)}
    details = details_of(event)
    if details is not None and not state.get(details[0]):
        new_state[details[0]] = details[1]
    return None if new_state == state else Change(new_state)


def relay_routes(orders: AggregateStore) -> Routes:
    async def follow(event: RelayReport) -> None:
        def decide(order: Aggregate) -> Change | None:
            return apply_report(order, event)

        outcome = await asyncio.to_thread(orders.apply, event.order_id, decide, cause=event.event_id)
        if outcome.aggregate.state is None:
            log.warning("relay report for an unknown order", order_id=event.order_id)

    return {OrderForwarded: follow, OrderShipped: follow, OrderFulfilled: follow}
