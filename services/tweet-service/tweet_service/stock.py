"""What checkout says about a tweet's variants: sold out, or sellable again.

Consumes ``checkout.stock.v1`` (StockAvailabilityChanged, keyed by tweet_id). Each event is one
unit of work on the tweet it names, with the event's id as the cause (a redelivery changes
nothing), and keeps, per variant, checkout's flag and the sequence it came with in the tweet's
``checkout_stock`` (``[{variant_id, sold_out, sequence}]``, a list: a variant id may hold a
dot, which a document key may not). Only an event with a higher sequence than the one last
applied to its variant changes the flag, so a late older event (a replayed dead letter, a
retry) never overturns a newer one; keeping the sequence per variant rather than one per
tweet means an old event about one variant is not lost behind a newer one about another, and
holds whether checkout numbers its changes per tweet or per variant. An event without a
sequence cannot be ordered and is refused (dead-lettered). An event about a tweet or variant
this service does not know changes nothing. Produces nothing.

Buyers see a variant sold out when the merchant's own count is zero or checkout says it is
(``views``); the merchant sees its count and checkout's flag side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog

from buybutton.events import StockAvailabilityChanged
from buybutton.kafka.consumer import Routes
from buybutton.unit_of_work import Aggregate, AggregateStore, Change

log = structlog.get_logger(__name__)


class UnorderedStockChange(ValueError):
    """A StockAvailabilityChanged without a sequence: nothing says whether it is the latest."""


def sold_out_by_checkout(tweet: Mapping[str, Any]) -> frozenset[str]:
    """The variant ids checkout says are sold out."""
    return frozenset(flag["variant_id"] for flag in tweet.get("checkout_stock", ()) if flag["sold_out"])


def apply_stock_availability(tweet: Aggregate, event: StockAvailabilityChanged) -> Change | None:
    if event.sequence is None:
        raise UnorderedStockChange(f"{event.event_id} carries no sequence")
    product = tweet.state["product"] if tweet.state is not None else None
    if product is None or all(v["variant_id"] != event.variant_id for v in product["variants"]):
        log.warning("stock change for an unknown tweet or variant", tweet_id=event.tweet_id)
        return None
    flags = [dict(flag) for flag in tweet.state.get("checkout_stock", ())] if tweet.state else []
    current = next((flag for flag in flags if flag["variant_id"] == event.variant_id), None)
    if current is not None and current["sequence"] >= event.sequence:
        return None  # a late older (or repeated) event: the newer flag stands
    flag = {"variant_id": event.variant_id, "sold_out": event.sold_out, "sequence": event.sequence}
    others = [f for f in flags if f["variant_id"] != event.variant_id]
    return Change({**(tweet.state or {}), "checkout_stock": [*others, flag]})


async def take_stock_change(event: StockAvailabilityChanged, *, tweets: AggregateStore) -> None:
    await asyncio.to_thread(
        tweets.apply,
        event.tweet_id,
        lambda tweet: apply_stock_availability(tweet, event),
        cause=event.event_id,
    )


def routes(*, tweets: AggregateStore) -> Routes:
    """tweet-service's consume loop: checkout's stock flags onto the tweets."""

    async def on_stock_change(event: StockAvailabilityChanged) -> None:
        await take_stock_change(event, tweets=tweets)

    return {StockAvailabilityChanged: on_stock_change}
