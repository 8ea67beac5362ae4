"""Tweets and the products they sell.

Owns (MongoDB): ``tweets`` {_id: tweet_id, merchant_id, text, posted_at, product | None, and the
unit of work's fields}. A product lives in the tweet that sells it (product.variants carry the
stock). Produces, through the outbox in the same document as the change (one unit of work, one
atomic write): TweetWithProductPosted, ProductRestocked, ProductPriceChanged, numbered in the
tweet's sequence. Every change is a decision on the tweet as read, written only if nobody
changed it meanwhile, so any number of instances may change one tweet at once.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database

from buybutton.events import Event, Product, ProductPriceChanged, ProductRestocked, TweetWithProductPosted
from buybutton.money import Money
from buybutton.sensitive import card_free
from buybutton.unit_of_work import Aggregate, Change, MongoAggregateStore
from tweet_service.clock import stored_now
from tweet_service.inputs import ProductIn, TweetIn
from tweet_service.queries import (
    NEWEST_FIRST,
    WITHOUT_OUTBOX,
    Cursor,
    by_product,
    page_filter,
    related_filter,
)

PRODUCER = "tweet-service"
MAX_STOCK = 1_000_000


class TweetProblem(Exception):
    """A change that the tweet's current state does not allow; the message says why."""


class UnknownTweet(LookupError):
    """No such tweet (or not this merchant's)."""


def product_of(product: ProductIn, product_id: str) -> Product:
    return Product.model_validate(
        {
            **product.model_dump(mode="json", exclude={"variants"}),
            "product_id": product_id,
            "variants": [
                {"variant_id": v.sku, "attributes": v.attributes, "stock": v.stock} for v in product.variants
            ],
        }
    )


def _request_mark(merchant_id: str, request_key: str) -> str:
    """The inbox mark of a merchant's request: a hash, so the key itself is never stored."""
    return "request:" + hashlib.sha256(f"{merchant_id}\n{request_key}".encode()).hexdigest()


def _shown(tweet: Aggregate) -> dict[str, Any]:
    """A tweet as the routes show it: its state, id and version."""
    assert tweet.state is not None
    return {"_id": tweet.id, **tweet.state, "version": tweet.version}


class Tweets:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.collection: Collection[dict[str, Any]] = db["tweets"]
        self.store = MongoAggregateStore(self.collection)

    def ensure_indexes(self) -> None:
        self.collection.create_index(NEWEST_FIRST)
        self.collection.create_index("product.product_id")

    # --- writes ----------------------------------------------------------------------------
    def post(self, merchant_id: str, tweet: TweetIn) -> dict[str, Any]:
        tweet_id = card_free(lambda: f"tweet-{uuid.uuid4().hex}")
        product = None
        events: list[Event] = []
        if tweet.product is not None:
            self._check_related(merchant_id, tweet.product.related_product_ids)
            product = product_of(tweet.product, card_free(lambda: f"product-{uuid.uuid4().hex}"))
            events.append(
                TweetWithProductPosted(
                    tweet_id=tweet_id,
                    correlation_id=tweet_id,
                    producer=PRODUCER,
                    merchant_id=merchant_id,
                    text=tweet.text,
                    product=product,
                )
            )
        state = {
            "merchant_id": merchant_id,
            "text": tweet.text,
            "posted_at": stored_now(),
            "product": product.model_dump(mode="json") if product else None,
        }
        outcome = self.store.apply(tweet_id, lambda _: Change(state, events))
        return _shown(outcome.aggregate)

    def restock(
        self, merchant_id: str, tweet_id: str, sku: str, units: int, *, request_key: str | None = None
    ) -> dict[str, Any]:
        def change(product: dict[str, Any]) -> tuple[dict[str, Any], Event]:
            variant = next((v for v in product["variants"] if v["variant_id"] == sku), None)
            if variant is None:
                raise UnknownTweet("the product has no such variant")
            if variant["stock"] + units > MAX_STOCK:
                raise TweetProblem(f"stock of a variant cannot exceed {MAX_STOCK} units")
            variant["stock"] += units
            event = ProductRestocked(
                tweet_id=tweet_id,
                correlation_id=tweet_id,
                producer=PRODUCER,
                merchant_id=merchant_id,
                product_id=product["product_id"],
                variant_id=sku,
                units_added=units,
            )
            return product, event

        return self._change_product(merchant_id, tweet_id, change, request_key)

    def change_price(
        self, merchant_id: str, tweet_id: str, price: Money, *, request_key: str | None = None
    ) -> dict[str, Any]:
        def change(product: dict[str, Any]) -> tuple[dict[str, Any], Event] | None:
            previous = Money.model_validate(product["price"])
            if previous == price:
                return None  # nothing changes, so nothing is published
            if previous.currency != price.currency:
                raise TweetProblem(
                    f"the price stays in {previous.currency}; post a new tweet to sell in another"
                )
            event = ProductPriceChanged(
                tweet_id=tweet_id,
                correlation_id=tweet_id,
                producer=PRODUCER,
                merchant_id=merchant_id,
                product_id=product["product_id"],
                price=price,
                previous_price=previous,
            )
            return {**product, "price": price.model_dump(mode="json")}, event

        return self._change_product(merchant_id, tweet_id, change, request_key)

    def _change_product(
        self,
        merchant_id: str,
        tweet_id: str,
        change: Callable[[dict[str, Any]], tuple[dict[str, Any], Event] | None],
        request_key: str | None,
    ) -> dict[str, Any]:
        """Apply ``change`` to the tweet's product as read: it answers the new product and its
        event, or None when nothing changes (and so nothing is published). A ``request_key``
        (the request's Idempotency-Key, hashed) is the change's inbox mark: applied once per tweet."""

        def decide(tweet: Aggregate) -> Change | None:
            if tweet.state is None or tweet.state["merchant_id"] != merchant_id:
                raise UnknownTweet("no such tweet of this merchant")
            if tweet.state["product"] is None:
                raise TweetProblem("this tweet sells no product")
            outcome = change(copy.deepcopy(tweet.state["product"]))
            if outcome is None:
                return None
            product, event = outcome
            return Change({**tweet.state, "product": product}, [event])

        # a tweet that kept changing during every attempt raises ConcurrentChange, a transient
        # failure: 503 with Retry-After, and a retry with the same Idempotency-Key applies once
        cause = None if request_key is None else _request_mark(merchant_id, request_key)
        return _shown(self.store.apply(tweet_id, decide, cause=cause).aggregate)

    def _check_related(self, merchant_id: str, product_ids: list[str]) -> None:
        wanted = set(product_ids)
        if not wanted:
            return
        found = self.collection.count_documents(
            {"merchant_id": merchant_id, "product.product_id": {"$in": sorted(wanted)}}
        )
        if found != len(wanted):
            raise TweetProblem("related_product_ids must name products of this merchant's own tweets")

    # --- reads -----------------------------------------------------------------------------
    def get(self, tweet_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": tweet_id}, WITHOUT_OUTBOX)

    def page(
        self, *, limit: int, after: Cursor | None = None, merchant_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; ``after`` is the (posted_at, tweet_id) of the last tweet already shown."""
        found = self.collection.find(page_filter(after, merchant_id), WITHOUT_OUTBOX).sort(NEWEST_FIRST)
        return list(found.limit(limit))

    def related_of(self, shown: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """product_id -> the tweet that sells it, for every related product of ``shown`` tweets."""
        query = related_filter(shown)
        return by_product(list(self.collection.find(query, WITHOUT_OUTBOX))) if query else {}
