"""checkout's decisions over the in-memory store (same rules as the database one): the views
from events, holds and sold-out, the order and its idempotency, cancel and expiry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from checkout_support import (
    GALOSH,
    GALOSH_TWEET,
    PUDDLE,
    RAINCOAT_TWEET,
    Clock,
    posted,
    price_changed,
    restocked,
    rules,
    terms,
)

from buybutton.auth import Principal
from buybutton.events import BuyClicked, Event, OrderCancelled
from buybutton.rollout import GateRules
from buybutton.unit_of_work import Aggregate, Change, InMemoryAggregateStore
from checkout_service import catalogue, merchants
from checkout_service.catalogue import available
from checkout_service.checkout import BuyRequest, Checkout, KeyReused, NotShown, OrderNotFound
from checkout_service.holds import SoldOut, UnknownProduct, hold, hold_cause
from checkout_service.order_states import IllegalTransition

GATE = GateRules.of(rules())
ADA = Principal("buyer", "buyer-ada", country="US")


def feed(
    store: InMemoryAggregateStore, decision: Callable[[Aggregate, Any], Change | None], event: Event
) -> None:
    store.apply(event.key, lambda aggregate: decision(aggregate, event), cause=event.event_id)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def checkout(clock: Clock) -> Checkout:
    shop = Checkout(InMemoryAggregateStore(), InMemoryAggregateStore(), InMemoryAggregateStore(), 600, clock)
    feed(shop.catalogue, catalogue.apply_posted, posted(stock_m=5))
    feed(shop.catalogue, catalogue.apply_posted, posted(GALOSH_TWEET, GALOSH))
    feed(shop.terms, merchants.apply_profile, terms(fee_bps=500))
    feed(shop.terms, merchants.apply_profile, terms(GALOSH))
    return shop


def stock(shop: Checkout) -> int:
    return int(available(shop.catalogue.load(RAINCOAT_TWEET).state or {}, "raincoat-m"))


def published(shop: Checkout, kind: type[Event]) -> list[Event]:
    return [e for e in shop.orders.published if isinstance(e, kind)]


def buy(
    shop: Checkout, key: str, who: Principal = ADA, quantity: int = 1, variant: str = "raincoat-m"
) -> Any:
    return shop.buy(who, BuyRequest(RAINCOAT_TWEET, variant, quantity, key), GATE)


def test_restocks_add_once_and_older_events_are_ignored(checkout: Checkout) -> None:
    again = restocked(3, sequence=2)
    feed(checkout.catalogue, catalogue.apply_restocked, again)
    feed(checkout.catalogue, catalogue.apply_restocked, again)  # redelivered
    feed(checkout.catalogue, catalogue.apply_restocked, restocked(100, sequence=2))
    feed(checkout.catalogue, catalogue.apply_price_changed, price_changed(5_999, sequence=3))
    feed(checkout.catalogue, catalogue.apply_price_changed, price_changed(1, sequence=1))
    assert stock(checkout) == 8
    assert checkout.catalogue.load(RAINCOAT_TWEET).state["price"]["amount_minor"] == 5_999


def test_the_newest_merchant_terms_win(checkout: Checkout) -> None:
    feed(checkout.terms, merchants.apply_profile, terms(fee_bps=700, sequence=3))
    feed(checkout.terms, merchants.apply_profile, terms(fee_bps=100, sequence=2))
    assert checkout.terms.load(PUDDLE).state["fee_bps"] == 700


def test_the_server_decides_amount_fee_and_merchant(checkout: Checkout) -> None:
    placed = buy(checkout, "tap-1", quantity=3)
    assert placed.created
    order = placed.order
    assert order["amount"] == {"amount_minor": 14_997, "currency": "USD"}
    assert order["platform_fee"] == {"amount_minor": 750, "currency": "USD"}  # 749.85 half-up
    assert (order["merchant_id"], order["stripe_account_id"], order["state"]) == (
        PUDDLE,
        "acct_1Puddle",
        "held",
    )
    assert stock(checkout) == 2
    [clicked] = published(checkout, BuyClicked)
    assert clicked.amount.amount_minor == 14_997


def test_the_same_key_names_one_order(checkout: Checkout) -> None:
    answers = [buy(checkout, "double-tap") for _ in range(5)]
    assert [a.created for a in answers] == [True, False, False, False, False]
    assert len({a.order_id for a in answers}) == 1
    assert len(published(checkout, BuyClicked)) == 1 and stock(checkout) == 4
    with pytest.raises(KeyReused):
        buy(checkout, "double-tap", quantity=2)


def test_sold_out_holds_nothing(checkout: Checkout) -> None:
    for n in range(5):
        buy(checkout, f"tap-{n}")
    with pytest.raises(SoldOut):
        buy(checkout, "tap-late")
    with pytest.raises(SoldOut):
        buy(checkout, "tap-large-l", variant="raincoat-l")
    assert stock(checkout) == 0 and len(published(checkout, BuyClicked)) == 5


@pytest.mark.parametrize("country", ["CA", None])
def test_a_buyer_the_gate_hides_the_button_from_holds_nothing(
    checkout: Checkout, country: str | None
) -> None:
    with pytest.raises(NotShown):
        buy(checkout, "tap", Principal("buyer", "buyer-bo", country=country))
    with pytest.raises(NotShown):  # Galosh is not allow-listed
        checkout.buy(ADA, BuyRequest(GALOSH_TWEET, "raincoat-m", 1, "tap"), GATE)
    with pytest.raises(NotShown):  # no rules known: fail closed
        checkout.buy(ADA, BuyRequest(RAINCOAT_TWEET, "raincoat-m", 1, "tap"), None)
    assert stock(checkout) == 5 and not checkout.orders.published


def test_unknown_tweet_or_variant(checkout: Checkout) -> None:
    with pytest.raises(UnknownProduct):
        checkout.buy(ADA, BuyRequest("tweet-nobody-posted", "raincoat-m", 1, "k"), GATE)
    with pytest.raises(UnknownProduct):
        buy(checkout, "k", variant="raincoat-xxl")


def test_a_cancel_puts_stock_back_once(checkout: Checkout) -> None:
    placed = buy(checkout, "tap", quantity=2)
    for _ in range(3):
        assert checkout.cancel_by_buyer(ADA, placed.order_id)["state"] == "cancelled"
    assert stock(checkout) == 5
    [cancelled] = published(checkout, OrderCancelled)
    assert (cancelled.reason, cancelled.released_quantity) == ("buyer_cancelled", 2)
    with pytest.raises(OrderNotFound):
        checkout.cancel_by_buyer(Principal("buyer", "buyer-bo", country="US"), placed.order_id)


def test_an_expired_hold_is_cancelled_and_released_only_after_expiry(
    checkout: Checkout, clock: Clock
) -> None:
    placed = buy(checkout, "tap")
    assert (
        checkout.end_order(placed.order_id, "hold_expired", expired_before=clock()).order["state"] == "held"
    )
    clock.advance(601)
    assert (
        checkout.end_order(placed.order_id, "hold_expired", expired_before=clock()).order["state"]
        == "cancelled"
    )
    assert stock(checkout) == 5
    [cancelled] = published(checkout, OrderCancelled)
    assert cancelled.reason == "hold_expired"


def test_a_paid_order_cannot_be_cancelled(checkout: Checkout) -> None:
    placed = buy(checkout, "tap")
    checkout.orders.apply(placed.order_id, lambda o: Change({**(o.state or {}), "state": "paid"}))
    with pytest.raises(IllegalTransition):
        checkout.cancel_by_buyer(ADA, placed.order_id)
    assert stock(checkout) == 4


def test_an_orphan_hold_is_released_once(checkout: Checkout) -> None:
    checkout.catalogue.apply(
        RAINCOAT_TWEET, hold("ord_orphan", "raincoat-m", 2, checkout.clock()), cause=hold_cause("ord_orphan")
    )
    assert stock(checkout) == 3
    assert checkout.release(RAINCOAT_TWEET, "ord_orphan") and not checkout.release(
        RAINCOAT_TWEET, "ord_orphan"
    )
    assert stock(checkout) == 5
