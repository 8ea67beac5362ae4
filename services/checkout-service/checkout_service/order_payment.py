"""The order's payment life as pure decisions over the order aggregate (orders.py has its birth
and cancel). Each returns a ``Decide`` for the unit of work: it emits the event of its step into
the order's outbox, or changes nothing when the step happened already or no longer applies, so
every step is safe to repeat and to race (several workers, redeliveries, webhooks).

held → confirming (``confirm``: OrderConfirmed) → requires_action (``action_required``:
PaymentActionRequired) → paid (``captured``: PaymentCaptured) or failed (``failed``:
PaymentFailed) or cancelled (``abandoned``: OrderCancelled, a 3-D Secure never finished before
the hold expired, its PaymentIntent canceled at Stripe first). Paid and later orders take
refunds (``refund_requested``: RefundRequested, then ``refunded``: PaymentRefunded; the order is
``refunded`` once all of it went back). ``check_requested`` asks the worker to look at Stripe
(PaymentCheckRequested) without changing the state.

Stored on the order, never in an event: the payment method the buyer gave (``pm_...``, a Stripe
reference, not card data), the attached one, the PaymentIntent id and 3-D Secure's client
secret (the buyer's client needs it to finish).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from buybutton.events import (
    OrderCancelled,
    OrderConfirmed,
    PaymentActionRequired,
    PaymentCaptured,
    PaymentCheckRequested,
    PaymentFailed,
    PaymentRefunded,
    RefundRequested,
)
from buybutton.money import Money
from buybutton.unit_of_work import Aggregate, Change, Decide
from checkout_service.order_states import IllegalTransition, move
from checkout_service.orders import PRODUCER
from checkout_service.payment_outcomes import ActionRequired, Captured

REFUNDABLE = frozenset({"paid", "forwarded", "shipped", "fulfilled"})
IN_PAYMENT = frozenset({"confirming", "requires_action"})


class ConfirmConflict(ValueError):
    """The order was confirmed already with other details, or can no longer be confirmed."""


class HoldExpired(ValueError):
    """The order's hold expired before the confirmation: its stock is no longer kept."""


class RefundRefused(ValueError):
    """The order cannot be refunded this much (not paid, or more than is left to refund)."""


@dataclass(frozen=True)
class Confirmation:
    """What the buyer chose: the saved profile (one tap) or a payment method just given."""

    uses_saved_profile: bool
    payment_method_ref: str | None
    remember: bool

    def stored(self) -> dict[str, Any]:
        return {
            "uses_saved_profile": self.uses_saved_profile,
            "payment_method_ref": self.payment_method_ref,
            "remember": self.remember,
        }


def _money(order: Mapping[str, Any], name: str) -> Money:
    return Money(**order[name])


def _common(order: Aggregate) -> dict[str, Any]:
    assert order.state is not None
    return {
        "order_id": order.id,
        "correlation_id": order.id,
        "producer": PRODUCER,
        "merchant_id": order.state["merchant_id"],
    }


def confirm(confirmation: Confirmation, now: datetime) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = order.state
        if state is None:
            raise LookupError("no such order")
        if state["state"] != "held":
            if state.get("confirmation") == confirmation.stored():
                return None  # the same confirmation again: the answer it had
            raise ConfirmConflict(f"the order is {state['state']}")
        if state["hold_expires_at"] <= now:
            raise HoldExpired
        confirmed = OrderConfirmed(
            **_common(order),
            buyer_id=state["buyer_id"],
            amount=_money(state, "amount"),
            uses_saved_profile=confirmation.uses_saved_profile,
        )
        new_state = {
            **state,
            "state": move(state["state"], "confirming"),
            "confirmation": confirmation.stored(),
            "confirmed_at": now,
        }
        return Change(new_state, [confirmed])

    return decide


def payment_method_attached(payment_method_id: str, card: Mapping[str, Any] | None) -> Decide:
    """Keep the payment method the order is charged with (attached to the buyer's customer)."""

    def decide(order: Aggregate) -> Change | None:
        state = order.state
        if state is None or state.get("payment_method_id") == payment_method_id:
            return None
        return Change({**state, "payment_method_id": payment_method_id, "card": dict(card or {}) or None})

    return decide


def action_required(outcome: ActionRequired) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = order.state
        if state is None or state["state"] != "confirming":
            return None
        next_action = {"client_secret": outcome.client_secret, "redirect_url": outcome.redirect_url}
        new_state = {
            **state,
            "state": move(state["state"], "requires_action"),
            "payment_intent_id": outcome.payment_intent_id,
            "next_action": next_action,
        }
        event = PaymentActionRequired(**_common(order), payment_reference=outcome.payment_intent_id)
        return Change(new_state, [event])

    return decide


class AmountMismatch(ValueError):
    """Stripe captured other amounts than the order asked for: a fault to look at, not to hide."""


def captured(outcome: Captured) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = order.state
        if state is None or state["state"] not in IN_PAYMENT:
            return None
        amount, fee = _money(state, "amount"), _money(state, "platform_fee")
        received = (outcome.amount_minor, outcome.currency, outcome.application_fee_minor)
        if received != (amount.amount_minor, amount.currency, fee.amount_minor):
            raise AmountMismatch(f"order {order.id}: Stripe captured {received}")
        event = PaymentCaptured(
            **_common(order),
            buyer_id=state["buyer_id"],
            amount=amount,
            platform_fee=fee,
            fee_bps=state["fee_bps"],
            payment_reference=outcome.payment_intent_id,
            payout=amount.minus(fee),
        )
        new_state = {
            **state,
            "state": move(state["state"], "paid"),
            "payment_intent_id": outcome.payment_intent_id,
            "next_action": None,
            "refunded": Money(amount_minor=0, currency=amount.currency).model_dump(),
        }
        return Change(new_state, [event])

    return decide


def failed(code: str, payment_intent_id: str | None) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = order.state
        if state is None or state["state"] not in IN_PAYMENT:
            return None
        event = PaymentFailed(**_common(order), buyer_id=state["buyer_id"], failure_code=code)
        new_state = {
            **state,
            "state": move(state["state"], "failed"),
            "failure_code": code,
            "payment_intent_id": payment_intent_id or state.get("payment_intent_id"),
            "next_action": None,
        }
        return Change(new_state, [event])

    return decide


def abandoned() -> Decide:
    """The buyer never finished 3-D Secure and the hold expired; Stripe's PaymentIntent is
    canceled already (the worker does that first), so no money can move any more."""

    def decide(order: Aggregate) -> Change | None:
        state = order.state
        if state is None or state["state"] not in IN_PAYMENT:
            return None
        event = OrderCancelled(**_common(order), reason="hold_expired", released_quantity=state["quantity"])
        new_state = {
            **state,
            "state": move(state["state"], "cancelled"),
            "cancel_reason": "hold_expired",
            "next_action": None,
        }
        return Change(new_state, [event])

    return decide


CheckReason = Literal["stripe_webhook", "buyer_returned", "hold_expired"]


def check_requested(reason: CheckReason, now: datetime, stripe_event_id: str | None = None) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = order.state
        if state is None or state["state"] not in IN_PAYMENT:
            return None
        event = PaymentCheckRequested(**_common(order), reason=reason, stripe_event_id=stripe_event_id)
        return Change({**state, "check_requested_at": now}, [event])

    return decide


def left_to_refund(state: Mapping[str, Any]) -> int:
    pending = sum(int(r["amount_minor"]) for r in state.get("refunds", []) if r["status"] == "requested")
    return _money(state, "amount").amount_minor - int(state["refunded"]["amount_minor"]) - pending


def refund_requested(
    refund_id: str, amount_minor: int | None, by: Literal["admin", "merchant"], reason: str, now: datetime
) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = order.state
        if state is None:
            raise LookupError("no such order")
        if any(r["refund_id"] == refund_id for r in state.get("refunds", [])):
            return None  # this request was taken already
        if state["state"] not in REFUNDABLE:
            raise RefundRefused(f"an order that is {state['state']} cannot be refunded")
        left = left_to_refund(state)
        amount = left if amount_minor is None else amount_minor
        if not 0 < amount <= left:
            raise RefundRefused(f"at most {left} minor units are left to refund")
        currency = state["amount"]["currency"]
        entry = {
            "refund_id": refund_id,
            "amount_minor": amount,
            "status": "requested",
            "requested_by": by,
            "reason": reason,
            "requested_at": now,
        }
        event = RefundRequested(
            **_common(order),
            refund_id=refund_id,
            amount=Money(amount_minor=amount, currency=currency),
            requested_by=by,
            reason=reason,
        )
        return Change({**state, "refunds": [*state.get("refunds", []), entry]}, [event])

    return decide


def refunded(refund_id: str, stripe_refund_id: str) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = order.state
        if state is None:
            return None
        entry = next((r for r in state.get("refunds", []) if r["refund_id"] == refund_id), None)
        if entry is None or entry["status"] != "requested":
            return None
        refunds = [
            {**r, "status": "succeeded", "stripe_refund_id": stripe_refund_id}
            if r["refund_id"] == refund_id
            else r
            for r in state["refunds"]
        ]
        total = int(state["refunded"]["amount_minor"]) + int(entry["amount_minor"])
        currency = state["amount"]["currency"]
        new_state = {
            **state,
            "refunds": refunds,
            "refunded": {"amount_minor": total, "currency": currency},
        }
        if total == _money(state, "amount").amount_minor:
            with contextlib.suppress(IllegalTransition):  # refunded already
                new_state["state"] = move(state["state"], "refunded")
        event = PaymentRefunded(
            **_common(order),
            amount=Money(amount_minor=int(entry["amount_minor"]), currency=currency),
            refund_reference=stripe_refund_id,
            reason=entry["reason"],
        )
        return Change(new_state, [event])

    return decide


def payment_references_forgotten() -> Decide:
    """Erasure: the order keeps its economics, not the buyer's Stripe references."""

    def decide(order: Aggregate) -> Change | None:
        state = order.state
        names = ("payment_method_id", "card", "next_action")
        confirmation = state.get("confirmation") if state else None
        given = bool(confirmation and confirmation.get("payment_method_ref"))
        if state is None or not (given or any(state.get(name) for name in names)):
            return None
        kept = {k: v for k, v in state.items() if k not in names}
        if confirmation:
            kept["confirmation"] = {**confirmation, "payment_method_ref": None}
        return Change(kept)

    return decide
