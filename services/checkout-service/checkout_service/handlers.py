"""What checkout-service consumes, and the routing table of its consume loop.

tweet.tweets.v1 (TweetWithProductPosted, ProductRestocked, ProductPriceChanged) → the catalogue
view (catalogue.py); tweet.merchants.v1 (MerchantProfileChanged) → the merchants' terms
(merchants.py). Each is one unit of work with the event's id as the cause, so a redelivery
changes nothing; none publishes anything (the catalogue's StockAvailabilityChanged goes through
its outbox). vault.buyers.v1 (BuyerDataErased) → the buyer's Stripe customer deleted and
forgotten, and the orders' payment references with it (payment_worker.forget_buyer).
The payment worker's own routes are in payment_worker.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from buybutton.events import (
    BuyerDataErased,
    Event,
    MerchantProfileChanged,
    ProductPriceChanged,
    ProductRestocked,
    TweetWithProductPosted,
)
from buybutton.kafka.consumer import Routes
from buybutton.unit_of_work import Aggregate, AggregateStore, Change
from checkout_service import catalogue, merchants

EventT = TypeVar("EventT", bound=Event)


async def apply_to_view(
    event: EventT,
    *,
    store: AggregateStore,
    decision: Callable[[Aggregate, EventT], Change | None],
) -> None:
    await asyncio.to_thread(
        store.apply, event.key, lambda aggregate: decision(aggregate, event), cause=event.event_id
    )


def routes(
    *,
    catalogue_store: AggregateStore,
    terms_store: AggregateStore,
    forget: Callable[[str], Awaitable[None]] | None = None,
) -> Routes:
    to_catalogue = partial(apply_to_view, store=catalogue_store)
    erasure: Routes = {}
    if forget is not None:

        async def on_erased(event: BuyerDataErased) -> None:
            await forget(event.buyer_id)

        erasure = {BuyerDataErased: on_erased}
    return {
        **erasure,
        TweetWithProductPosted: partial(to_catalogue, decision=catalogue.apply_posted),
        ProductRestocked: partial(to_catalogue, decision=catalogue.apply_restocked),
        ProductPriceChanged: partial(to_catalogue, decision=catalogue.apply_price_changed),
        MerchantProfileChanged: partial(apply_to_view, store=terms_store, decision=merchants.apply_profile),
    }
