"""Checkout's sold-out flags on a tweet: whatever order the events arrive in, and however often,
each variant ends with the flag of its highest-sequence event; an event about an unknown tweet
or variant changes nothing; one without a sequence is refused."""

from __future__ import annotations

from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buybutton.events import StockAvailabilityChanged
from buybutton.unit_of_work import Change, InMemoryAggregateStore
from tweet_service.stock import UnorderedStockChange, apply_stock_availability, sold_out_by_checkout

TWEET = "tweet-raincoat"
VARIANTS = ("raincoat-m", "raincoat-l", "raincoat.xl")


def stored_tweet(store: InMemoryAggregateStore) -> None:
    product = {"variants": [{"variant_id": v, "attributes": {}, "stock": 3} for v in VARIANTS]}
    store.apply(TWEET, lambda _: Change({"product": product}))


def event(
    variant_id: str, sold_out: bool, sequence: int | None, tweet_id: str = TWEET
) -> StockAvailabilityChanged:
    return StockAvailabilityChanged(
        tweet_id=tweet_id,
        variant_id=variant_id,
        sold_out=sold_out,
        sequence=sequence,
        correlation_id=tweet_id,
        producer="checkout-service",
    )


def take(store: InMemoryAggregateStore, change: StockAvailabilityChanged) -> None:
    store.apply(change.tweet_id, lambda tweet: apply_stock_availability(tweet, change), cause=change.event_id)


@settings(max_examples=150, deadline=None)
@given(
    flags=st.lists(st.tuples(st.sampled_from(VARIANTS), st.booleans()), min_size=1, max_size=12),
    order=st.randoms(use_true_random=False),
    repeats=st.integers(min_value=0, max_value=3),
)
def test_each_variant_ends_with_its_newest_flag_in_any_order(
    flags: list[tuple[str, bool]], order: Random, repeats: int
) -> None:
    events = [
        event(variant, sold_out, sequence) for sequence, (variant, sold_out) in enumerate(flags, start=1)
    ]
    arrivals = events + events[:repeats]  # some delivered twice
    order.shuffle(arrivals)
    store = InMemoryAggregateStore()
    stored_tweet(store)
    for arrival in arrivals:
        take(store, arrival)
    newest = {e.variant_id: e.sold_out for e in sorted(events, key=lambda e: e.sequence or 0)}
    state = store.load(TWEET).state
    assert state is not None
    assert sold_out_by_checkout(state) == {variant for variant, sold_out in newest.items() if sold_out}


def test_unknown_tweets_and_variants_change_nothing() -> None:
    store = InMemoryAggregateStore()
    stored_tweet(store)
    take(store, event("raincoat-xxl", True, 1))
    take(store, event("raincoat-m", True, 2, tweet_id="tweet-nobody-posted"))
    state = store.load(TWEET).state
    assert state is not None and "checkout_stock" not in state
    assert not store.load("tweet-nobody-posted").exists


def test_an_event_without_a_sequence_is_refused() -> None:
    store = InMemoryAggregateStore()
    stored_tweet(store)
    with pytest.raises(UnorderedStockChange):
        take(store, event("raincoat-m", True, None))
