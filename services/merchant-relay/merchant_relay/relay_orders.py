"""The relay's orders (collection ``relay_orders``, one aggregate per order_id), decided as pure
functions of the aggregate for buybutton.unit_of_work.

Consumes (through the handlers in pipeline.py) BuyClicked, PaymentCaptured, PaymentRefunded and
OrderCancelled; produces OrderForwarded once the merchant has the order on a channel. The rules
it keeps: the line items of BuyClicked wait in the aggregate until the order is paid, then
become the merchant's copy (``order``: no address, no contact, no Stripe id) and are dropped;
a refund or a cancellation is recorded only for an order the merchant was told was paid; an
order is forwarded once (one OrderForwarded), later channels are only added to ``channels``.
An order the merchant reported on (shipped, fulfilled) before the worker recorded its first
channel (the merchant reported before answering the webhook, or from its topic) is forwarded
then all the same, its state kept: the report proves the merchant has it.

State: {merchant_id, buyer_id, state (clicked | paid | forwarded | cancelled, then the merchant
API's shipped | fulfilled), line_items (until paid), order, channels, refunds, cancel_reason,
acknowledged_at, shipment, fulfilment}.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from buybutton.events import BuyClicked, OrderCancelled, OrderForwarded, PaymentCaptured, PaymentRefunded
from buybutton.money import Money
from buybutton.unit_of_work import Aggregate, Change, Decide
from merchant_relay.payload import LineItem, MerchantOrder

COLLECTION = "relay_orders"
PRODUCER = "merchant-relay"
CLICKED, PAID, FORWARDED, CANCELLED = "clicked", "paid", "forwarded", "cancelled"
REPORTED = frozenset({"shipped", "fulfilled"})
TOLD_PAID = frozenset({PAID, FORWARDED, "shipped", "fulfilled"})


def line_items_of(event: BuyClicked) -> list[dict[str, Any]]:
    unit = Money(amount_minor=event.amount.amount_minor // event.quantity, currency=event.amount.currency)
    item = LineItem(
        tweet_id=event.tweet_id,
        product_id=event.product_id,
        variant_id=event.variant_id,
        quantity=event.quantity,
        unit_price=unit,
    )
    return [item.model_dump(mode="json")]


def clicked(event: BuyClicked) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        if order.exists:
            return None
        state = {
            "merchant_id": event.merchant_id,
            "buyer_id": event.buyer_id,
            "created_at": event.occurred_at,
            "state": CLICKED,
            "line_items": line_items_of(event),
            "order": None,
            "channels": [],
            "refunds": [],
        }
        return Change(state)

    return decide


def paid(event: PaymentCaptured) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = dict(order.state or {})
        if state.get("state") in TOLD_PAID:
            return None
        copy = MerchantOrder(
            order_id=event.order_id,
            merchant_id=event.merchant_id,
            line_items=[LineItem.model_validate(i) for i in state.pop("line_items", [])],
            amount=event.amount,
            platform_fee=event.platform_fee,
            fee_bps=event.fee_bps,
            payout=event.payout or event.amount.minus(event.platform_fee),
            paid_at=event.occurred_at,
        )
        state.update(
            merchant_id=event.merchant_id,
            buyer_id=event.buyer_id,
            state=PAID,
            order=copy.model_dump(mode="json"),
        )
        state.setdefault("channels", [])
        state.setdefault("refunds", [])
        state.setdefault("created_at", event.occurred_at)  # the merchant API lists by it
        return Change(state)

    return decide


def refunded(event: PaymentRefunded) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = dict(order.state or {})
        if state.get("order") is None:
            return None
        refund = {
            "amount": event.amount.model_dump(mode="json"),
            "reason": event.reason,
            "event_id": event.event_id,  # which refund it is, for its delivery's id
        }
        return Change({**state, "refunds": [*state.get("refunds", []), refund]})

    return decide


def cancelled(event: OrderCancelled) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = dict(order.state or {})
        if not order.exists or state.get("state") == CANCELLED:
            return None
        return Change({**state, "state": CANCELLED, "cancel_reason": event.reason})

    return decide


def forwarded(channels: Iterable[str]) -> Decide:
    """The merchant has the order on ``channels``: the first time, OrderForwarded."""
    reached = sorted(set(channels))

    def decide(order: Aggregate) -> Change | None:
        state = dict(order.state or {})
        known = sorted(set(state.get("channels", [])) | set(reached))
        first_channel = not state.get("channels")
        if state.get("state") == PAID or (state.get("state") in REPORTED and first_channel):
            event = OrderForwarded(
                order_id=order.id,
                merchant_id=state["merchant_id"],
                channels=reached,
                correlation_id=order.id,
                producer=PRODUCER,
            )
            moved = FORWARDED if state["state"] == PAID else state["state"]
            return Change({**state, "state": moved, "channels": known}, [event])
        if known == state.get("channels") or not order.exists:
            return None
        return Change({**state, "channels": known})

    return decide
