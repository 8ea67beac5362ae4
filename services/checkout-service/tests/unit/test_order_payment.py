"""The order's payment decisions over the in-memory store: confirm, 3-D Secure, capture, decline,
abandon, refunds, erasure; each step happens once, and no sequence of steps moves an order
backwards (hypothesis)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buybutton.events import (
    OrderCancelled,
    OrderConfirmed,
    PaymentActionRequired,
    PaymentCaptured,
    PaymentFailed,
    PaymentRefunded,
    RefundRequested,
)
from buybutton.money import Money
from buybutton.unit_of_work import Decide, InMemoryAggregateStore
from checkout_service import order_payment as op
from checkout_service.order_states import STAGE
from checkout_service.orders import Draft, create
from checkout_service.payment_outcomes import ActionRequired, Captured

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ORDER = "ord_test"
NEW_CARD = op.Confirmation(uses_saved_profile=False, payment_method_ref="pm_card_visa", remember=True)


def draft(quantity: int = 2, unit_minor: int = 4_999, fee_bps: int = 250) -> Draft:
    return Draft(
        order_id=ORDER,
        buyer_id="buyer-ada",
        tweet_id="tweet-1",
        merchant_id="merchant-puddle",
        product_id="product-1",
        variant_id="m",
        quantity=quantity,
        unit_price=Money(amount_minor=unit_minor, currency="USD"),
        fee_bps=fee_bps,
        stripe_account_id="acct_1Puddle",
        hold_expires_at=NOW + timedelta(minutes=10),
        created_at=NOW,
        idempotency_key_hash="h",
        request_fingerprint="f",
    )


@pytest.fixture
def orders() -> InMemoryAggregateStore:
    store = InMemoryAggregateStore()
    store.apply(ORDER, create(draft()))
    return store


def captured_for(store: InMemoryAggregateStore, pi: str = "pi_1") -> Captured:
    state = store.load(ORDER).state
    assert state is not None
    return Captured(
        pi, state["amount"]["amount_minor"], "USD", state["platform_fee"]["amount_minor"], "acct_1Puddle"
    )


def events_of(store: InMemoryAggregateStore, decide: Decide) -> list[Any]:
    return list(store.apply(ORDER, decide).events)


def test_confirm_moves_a_held_order_once_and_refuses_other_details(orders: InMemoryAggregateStore) -> None:
    [confirmed] = events_of(orders, op.confirm(NEW_CARD, NOW))
    assert isinstance(confirmed, OrderConfirmed) and not confirmed.uses_saved_profile
    assert confirmed.amount == Money(amount_minor=9_998, currency="USD")
    assert events_of(orders, op.confirm(NEW_CARD, NOW)) == []  # the same confirmation again
    one_tap = op.Confirmation(uses_saved_profile=True, payment_method_ref=None, remember=False)
    with pytest.raises(op.ConfirmConflict):
        orders.apply(ORDER, op.confirm(one_tap, NOW))
    assert "pm_card_visa" not in confirmed.model_dump_json()


def test_confirm_after_the_hold_expired_is_refused(orders: InMemoryAggregateStore) -> None:
    with pytest.raises(op.HoldExpired):
        orders.apply(ORDER, op.confirm(NEW_CARD, NOW + timedelta(minutes=10)))
    assert orders.load(ORDER).state["state"] == "held"  # type: ignore[index]


def test_capture_publishes_the_orders_amounts_and_the_payout(orders: InMemoryAggregateStore) -> None:
    orders.apply(ORDER, op.confirm(NEW_CARD, NOW))
    [event] = events_of(orders, op.captured(captured_for(orders)))
    assert isinstance(event, PaymentCaptured)
    assert (event.amount.amount_minor, event.platform_fee.amount_minor) == (9_998, 250)
    assert event.payout == Money(amount_minor=9_748, currency="USD")
    assert events_of(orders, op.captured(captured_for(orders))) == []
    assert events_of(orders, op.failed("card_declined", "pi_1")) == []  # never back from paid


def test_a_capture_of_other_amounts_is_refused(orders: InMemoryAggregateStore) -> None:
    orders.apply(ORDER, op.confirm(NEW_CARD, NOW))
    with pytest.raises(op.AmountMismatch):
        orders.apply(ORDER, op.captured(Captured("pi_1", 9_999, "USD", 250, "acct_1Puddle")))
    assert orders.load(ORDER).state["state"] == "confirming"  # type: ignore[index]


def test_three_d_secure_then_capture_or_abandon(orders: InMemoryAggregateStore) -> None:
    orders.apply(ORDER, op.confirm(NEW_CARD, NOW))
    [asked] = events_of(orders, op.action_required(ActionRequired("pi_3ds", "pi_3ds_secret_x", None)))
    assert isinstance(asked, PaymentActionRequired) and "secret" not in asked.model_dump_json()
    assert orders.load(ORDER).state["next_action"]["client_secret"] == "pi_3ds_secret_x"  # type: ignore[index]
    [cancelled] = events_of(orders, op.abandoned())
    assert isinstance(cancelled, OrderCancelled) and cancelled.released_quantity == 2
    assert events_of(orders, op.captured(captured_for(orders, "pi_3ds"))) == []


def test_decline_ends_the_order(orders: InMemoryAggregateStore) -> None:
    orders.apply(ORDER, op.confirm(NEW_CARD, NOW))
    [event] = events_of(orders, op.failed("insufficient_funds", "pi_9"))
    assert isinstance(event, PaymentFailed) and event.failure_code == "insufficient_funds"


def test_partial_refunds_up_to_the_amount_then_refunded(orders: InMemoryAggregateStore) -> None:
    orders.apply(ORDER, op.confirm(NEW_CARD, NOW))
    orders.apply(ORDER, op.captured(captured_for(orders)))
    [asked] = events_of(orders, op.refund_requested("rf_1", 3_000, "merchant", "damaged", NOW))
    assert isinstance(asked, RefundRequested) and asked.amount.amount_minor == 3_000
    assert events_of(orders, op.refund_requested("rf_1", 3_000, "merchant", "damaged", NOW)) == []
    with pytest.raises(op.RefundRefused):
        orders.apply(ORDER, op.refund_requested("rf_2", 7_000, "admin", "too much", NOW))
    [done] = events_of(orders, op.refunded("rf_1", "re_1"))
    assert isinstance(done, PaymentRefunded) and orders.load(ORDER).state["state"] == "paid"  # type: ignore[index]
    orders.apply(ORDER, op.refund_requested("rf_2", None, "admin", "the rest", NOW))
    orders.apply(ORDER, op.refunded("rf_2", "re_2"))
    state = orders.load(ORDER).state
    assert state is not None and state["state"] == "refunded" and state["refunded"]["amount_minor"] == 9_998
    assert events_of(orders, op.refunded("rf_2", "re_2")) == []


def test_an_unpaid_order_cannot_be_refunded(orders: InMemoryAggregateStore) -> None:
    with pytest.raises(op.RefundRefused):
        orders.apply(ORDER, op.refund_requested("rf_1", None, "admin", "why", NOW))


def test_erasure_keeps_the_economics_and_drops_the_stripe_references(orders: InMemoryAggregateStore) -> None:
    orders.apply(ORDER, op.confirm(NEW_CARD, NOW))
    orders.apply(ORDER, op.payment_method_attached("pm_1Attached", {"brand": "visa", "last4": "4242"}))
    orders.apply(ORDER, op.captured(captured_for(orders)))
    orders.apply(ORDER, op.payment_references_forgotten())
    state = orders.load(ORDER).state
    assert state is not None
    assert "pm_" not in repr({k: v for k, v in state.items() if k != "payment_intent_id"})
    assert state["amount"]["amount_minor"] == 9_998 and state["platform_fee"]["amount_minor"] == 250


STEPS: dict[str, Callable[[InMemoryAggregateStore], Decide]] = {
    "confirm": lambda _: op.confirm(NEW_CARD, NOW),
    "action": lambda _: op.action_required(ActionRequired("pi_1", "secret", None)),
    "capture": lambda store: op.captured(captured_for(store)),
    "fail": lambda _: op.failed("card_declined", None),
    "abandon": lambda _: op.abandoned(),
    "check": lambda _: op.check_requested("stripe_webhook", NOW),
    "refund": lambda _: op.refund_requested("rf_x", 1_000, "admin", "r", NOW),
    "refunded": lambda _: op.refunded("rf_x", "re_x"),
}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(STEPS)), max_size=12))
def test_no_sequence_of_steps_moves_an_order_backwards(steps: list[str]) -> None:
    store = InMemoryAggregateStore()
    store.apply(ORDER, create(draft()))
    stage = 0
    for step in steps:
        with contextlib.suppress(op.ConfirmConflict, op.RefundRefused, op.HoldExpired):
            store.apply(ORDER, STEPS[step](store))  # a refused step changes nothing
        state = store.load(ORDER).state
        assert state is not None
        assert STAGE[state["state"]] >= stage, (steps, state["state"])
        stage = STAGE[state["state"]]
