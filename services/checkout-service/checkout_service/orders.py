"""The order aggregate and the decisions that change it, pure (no I/O).

Document ``orders/{order_id}``: buyer_id, tweet_id, merchant_id, product_id, variant_id,
quantity, unit_price, amount, fee_bps, platform_fee, stripe_account_id, currency (inside the
Money fields), state (order_states.py), hold_expires_at, created_at, cancel_reason,
idempotency_key_hash, request_fingerprint.

The order id is a pure function of (buyer, Idempotency-Key), drawn card-free, so a double tap
or a client retry names the same order and the unit of work's conditional insert lets only one
exist; only a hash of the key is kept. Creating an order emits BuyClicked, cancelling a held
one OrderCancelled (with the quantity its hold releases), both into the order's outbox.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from buybutton.events import BuyClicked, OrderCancelled
from buybutton.events.checkout import CancelReason
from buybutton.money import Money
from buybutton.sensitive import card_free_derived
from buybutton.unit_of_work import Aggregate, Change, Decide
from checkout_service.order_states import move

COLLECTION = "orders"
PRODUCER = "checkout-service"


def digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def order_id_for(buyer_id: str, idempotency_key: str) -> str:
    return card_free_derived(
        lambda attempt: "ord_" + digest("order", buyer_id, idempotency_key, attempt)[:32]
    )


def request_fingerprint(tweet_id: str, variant_id: str, quantity: int) -> str:
    return digest("request", tweet_id, variant_id, quantity)


@dataclass(frozen=True)
class Draft:
    """Everything the server decided for a new order."""

    order_id: str
    buyer_id: str
    tweet_id: str
    merchant_id: str
    product_id: str
    variant_id: str
    quantity: int
    unit_price: Money
    fee_bps: int
    stripe_account_id: str
    hold_expires_at: datetime
    created_at: datetime
    idempotency_key_hash: str
    request_fingerprint: str

    @property
    def amount(self) -> Money:
        return self.unit_price.times(self.quantity)


def create(draft: Draft) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        if order.exists:
            return None  # the same (buyer, key) names one order, never a second
        amount = draft.amount
        state: dict[str, Any] = {
            "buyer_id": draft.buyer_id,
            "tweet_id": draft.tweet_id,
            "merchant_id": draft.merchant_id,
            "product_id": draft.product_id,
            "variant_id": draft.variant_id,
            "quantity": draft.quantity,
            "unit_price": draft.unit_price.model_dump(),
            "amount": amount.model_dump(),
            "fee_bps": draft.fee_bps,
            "platform_fee": amount.fee(draft.fee_bps).model_dump(),
            "stripe_account_id": draft.stripe_account_id,
            "state": "held",
            "hold_expires_at": draft.hold_expires_at,
            "created_at": draft.created_at,
            "idempotency_key_hash": draft.idempotency_key_hash,
            "request_fingerprint": draft.request_fingerprint,
        }
        clicked = BuyClicked(
            order_id=draft.order_id,
            correlation_id=draft.order_id,
            producer=PRODUCER,
            tweet_id=draft.tweet_id,
            merchant_id=draft.merchant_id,
            buyer_id=draft.buyer_id,
            product_id=draft.product_id,
            variant_id=draft.variant_id,
            quantity=draft.quantity,
            amount=amount,
            hold_expires_at=draft.hold_expires_at,
        )
        return Change(state, [clicked])

    return decide


def cancel(reason: CancelReason, *, expired_before: datetime | None = None) -> Decide:
    """Cancel a held order (IllegalTransition from any later state). With ``expired_before``
    (the sweeper), only a held order whose hold expired before it, and nothing otherwise."""

    def decide(order: Aggregate) -> Change | None:
        if order.state is None or order.state["state"] == "cancelled":
            return None
        if expired_before is not None and (
            order.state["state"] != "held" or order.state["hold_expires_at"] >= expired_before
        ):
            return None
        state = {**order.state, "state": move(order.state["state"], "cancelled"), "cancel_reason": reason}
        cancelled = OrderCancelled(
            order_id=order.id,
            correlation_id=order.id,
            producer=PRODUCER,
            merchant_id=order.state["merchant_id"],
            reason=reason,
            released_quantity=order.state["quantity"],
        )
        return Change(state, [cancelled])

    return decide
