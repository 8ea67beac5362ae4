"""checkout's own view of what is for sale, one aggregate per tweet, built from tweet-service's
events (TweetWithProductPosted, ProductRestocked, ProductPriceChanged on tweet.tweets.v1).

Document ``catalogue/{tweet_id}``: merchant_id, product_id, title, price {amount_minor,
currency}, variants [{variant_id, supplied, sold}] (supplied = posted stock + restocks),
holds [{order_id, variant_id, quantity, expires_at}] (see holds.py), source_sequence.

Each event is applied through the unit of work with its event_id as the cause, so a redelivered
event changes nothing; and only when its ``sequence`` is higher than the last one applied to the
tweet (``source_sequence``), so an older event arriving late is ignored. Holds and sales are
checkout's own and are never touched by these events. Produces no events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from buybutton.events import Event, ProductPriceChanged, ProductRestocked, TweetWithProductPosted
from buybutton.unit_of_work import Aggregate, Change

COLLECTION = "catalogue"


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


def apply_restocked(tweet: Aggregate, event: ProductRestocked) -> Change | None:
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
