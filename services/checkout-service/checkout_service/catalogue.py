"""checkout's own view of what is for sale, one aggregate per tweet, built from tweet-service's
events (TweetWithProductPosted, ProductRestocked, ProductPriceChanged on tweet.tweets.v1).

Document ``catalogue/{tweet_id}``: merchant_id, product_id, title, price {amount_minor,
currency}, variants [{variant_id, supplied, sold}] (supplied = posted stock + restocks),
holds [{order_id, variant_id, quantity, expires_at}] (see holds.py), source_sequence.

Each event is applied through the unit of work with its event_id as the cause, so a redelivered
event changes nothing; and only when its ``sequence`` is higher than the last one applied to the
tweet (``source_sequence``), so an older event arriving late is ignored. Holds and sales are
checkout's own and are never touched by these events.

Produces StockAvailabilityChanged (checkout.stock.v1, keyed by tweet) whenever a change of the
tweet (a posting, restock, hold, release or sale) turns a variant sold out (available = supplied
- held - sold reaches 0) or sellable again, in the same write (``with_availability``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from buybutton.events import (
    Event,
    ProductPriceChanged,
    ProductRestocked,
    StockAvailabilityChanged,
    TweetWithProductPosted,
)
from buybutton.unit_of_work import Aggregate, Change

COLLECTION = "catalogue"
PRODUCER = "checkout-service"


def available(state: Mapping[str, Any], variant_id: str) -> int:
    found = variant(state, variant_id)
    if found is None:
        return 0
    held = sum(int(h["quantity"]) for h in state.get("holds", []) if h["variant_id"] == variant_id)
    return int(found["supplied"]) - int(found["sold"]) - held


def _sold_out(state: Mapping[str, Any] | None) -> dict[str, bool]:
    known = state or {}
    return {v["variant_id"]: available(known, v["variant_id"]) <= 0 for v in known.get("variants", [])}


def with_availability(tweet: Aggregate, change: Change | None) -> Change | None:
    """``change`` plus a StockAvailabilityChanged for each variant it turns sold out or back."""
    if change is None:
        return None
    before, after = _sold_out(tweet.state), _sold_out(change.state)
    events = [
        StockAvailabilityChanged(
            tweet_id=tweet.id, correlation_id=tweet.id, producer=PRODUCER, variant_id=variant_id, sold_out=now
        )
        for variant_id, now in after.items()
        if before.get(variant_id, False) != now
    ]
    return Change(change.state, [*change.events, *events]) if events else change


def is_newer(tweet: Aggregate, event: Event) -> bool:
    """An event without a sequence (written before the unit of work numbered events) counts as newer;
    its event_id still guards against a redelivery."""
    applied = int((tweet.state or {}).get("source_sequence", 0))
    return event.sequence is None or event.sequence > applied


def _sequence(tweet: Aggregate, event: Event) -> int:
    return (
        event.sequence if event.sequence is not None else int((tweet.state or {}).get("source_sequence", 0))
    )


def apply_posted(tweet: Aggregate, event: TweetWithProductPosted) -> Change | None:
    return with_availability(tweet, _posted(tweet, event))


def apply_restocked(tweet: Aggregate, event: ProductRestocked) -> Change | None:
    return with_availability(tweet, _restocked(tweet, event))


def _posted(tweet: Aggregate, event: TweetWithProductPosted) -> Change | None:
    if not is_newer(tweet, event):
        return None
    before = tweet.state or {}
    sold = {v["variant_id"]: v["sold"] for v in before.get("variants", [])}
    product = event.product
    state = {
        "merchant_id": event.merchant_id,
        "product_id": product.product_id,
        "title": product.title,
        "price": product.price.model_dump(),
        "variants": [
            {"variant_id": v.variant_id, "supplied": v.stock, "sold": sold.get(v.variant_id, 0)}
            for v in product.variants
        ],
        "holds": list(before.get("holds", [])),
        "source_sequence": _sequence(tweet, event),
    }
    return Change(state)


def _restocked(tweet: Aggregate, event: ProductRestocked) -> Change | None:
    if tweet.state is None or not is_newer(tweet, event):
        return None  # a restock of a tweet not posted here yet: its posting carries the stock
    variants = [
        {**v, "supplied": v["supplied"] + event.units_added} if v["variant_id"] == event.variant_id else v
        for v in tweet.state["variants"]
    ]
    return Change({**tweet.state, "variants": variants, "source_sequence": _sequence(tweet, event)})


def apply_price_changed(tweet: Aggregate, event: ProductPriceChanged) -> Change | None:
    if tweet.state is None or not is_newer(tweet, event):
        return None
    state = {**tweet.state, "price": event.price.model_dump(), "source_sequence": _sequence(tweet, event)}
    return Change(state)


def variant(state: Mapping[str, Any], variant_id: str) -> Mapping[str, Any] | None:
    return next((v for v in state.get("variants", []) if v["variant_id"] == variant_id), None)
