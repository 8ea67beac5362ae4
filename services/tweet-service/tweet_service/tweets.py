"""Tweets and the products they sell.

Owns (MongoDB): ``tweets`` {_id: tweet_id, merchant_id, text, posted_at, product | None,
version, outbox}. A product lives in the tweet that sells it (product.variants carry the stock).
Produces, through the outbox in the same document as the change (one atomic write):
TweetWithProductPosted, ProductRestocked, ProductPriceChanged. Every change of a tweet is
conditional on the version it read (safe with several instances) and holds the document's lock
(FerretDB with SQLite does not serialise concurrent updates of one document; see buybutton.locks).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from buybutton.events import Event, Product, ProductPriceChanged, ProductRestocked, TweetWithProductPosted
from buybutton.locks import KeyedLocks
from buybutton.money import Money
from buybutton.outbox import new_outbox, outbox_entry, with_outbox
from tweet_service.clock import stored_now
from tweet_service.inputs import ProductIn, TweetIn

PRODUCER = "tweet-service"
MAX_STOCK = 1_000_000
WITHOUT_OUTBOX = {"outbox": 0, "outbox_pending": 0}
Cursor = tuple[datetime, str]


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


class Tweets:
    def __init__(self, db: Database[dict[str, Any]], *, document_locks: KeyedLocks | None = None) -> None:
        """``document_locks``: the ones the outbox relay holds too (see buybutton.locks)."""
        self.collection: Collection[dict[str, Any]] = db["tweets"]
        self.document_locks = document_locks or KeyedLocks()

    def ensure_indexes(self) -> None:
        self.collection.create_index([("posted_at", DESCENDING), ("_id", DESCENDING)])
        self.collection.create_index("product.product_id")

    # --- writes ----------------------------------------------------------------------------
    def post(self, merchant_id: str, tweet: TweetIn) -> dict[str, Any]:
        tweet_id = f"tweet-{uuid.uuid4().hex}"
        product = None
        events: list[Event] = []
        if tweet.product is not None:
            self._check_related(merchant_id, tweet.product.related_product_ids)
            product = product_of(tweet.product, f"product-{uuid.uuid4().hex}")
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
        document = {
            "_id": tweet_id,
            "merchant_id": merchant_id,
            "text": tweet.text,
            "posted_at": stored_now(),
            "product": product.model_dump(mode="json") if product else None,
            "version": 1,
            **new_outbox([outbox_entry(e) for e in events]),
        }
        self.collection.insert_one(document)
        return {k: v for k, v in document.items() if k not in WITHOUT_OUTBOX}

    def restock(self, merchant_id: str, tweet_id: str, sku: str, units: int) -> dict[str, Any]:
        def change(product: dict[str, Any]) -> tuple[dict[str, Any], Event]:
            variant = next((v for v in product["variants"] if v["variant_id"] == sku), None)
            if variant is None:
                raise UnknownTweet(f"the product has no variant {sku}")
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
            return {"product.variants": product["variants"]}, event

        return self._change_product(merchant_id, tweet_id, change)

    def change_price(self, merchant_id: str, tweet_id: str, price: Money) -> dict[str, Any]:
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
            return {"product.price": price.model_dump(mode="json")}, event

        return self._change_product(merchant_id, tweet_id, change)

    def _change_product(
        self,
        merchant_id: str,
        tweet_id: str,
        change: Callable[[dict[str, Any]], tuple[dict[str, Any], Event] | None],
        attempts: int = 5,
    ) -> dict[str, Any]:
        """Apply ``change`` to the tweet's product as read (None: nothing to change), written only
        if nobody changed the tweet meanwhile (else read again, up to ``attempts`` times)."""
        with self.document_locks.hold((self.collection.name, tweet_id)):
            for _ in range(attempts):
                current = self.collection.find_one(
                    {"_id": tweet_id, "merchant_id": merchant_id}, WITHOUT_OUTBOX
                )
                if current is None:
                    raise UnknownTweet("no such tweet of this merchant")
                if current["product"] is None:
                    raise TweetProblem("this tweet sells no product")
                outcome = change(current["product"])
                if outcome is None:
                    return current
                fields, event = outcome
                version = current["version"]
                update = with_outbox({"$set": {**fields, "version": version + 1}}, event)
                if self.collection.update_one({"_id": tweet_id, "version": version}, update).matched_count:
                    return self.get(tweet_id) or current
        raise TweetProblem("the tweet kept changing; try again")

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
        query: dict[str, Any] = {}
        if merchant_id is not None:
            query["merchant_id"] = merchant_id
        if after is not None:
            posted_at, tweet_id = after
            query["$or"] = [
                {"posted_at": {"$lt": posted_at}},
                {"posted_at": posted_at, "_id": {"$lt": tweet_id}},
            ]
        found = self.collection.find(query, WITHOUT_OUTBOX).sort(
            [("posted_at", DESCENDING), ("_id", DESCENDING)]
        )
        return list(found.limit(limit))

    def related_of(self, shown: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """product_id -> the tweet that sells it, for every related product of ``shown`` tweets
        (one query for a whole page)."""
        product_ids = {p for t in shown if t["product"] for p in t["product"]["related_product_ids"]}
        if not product_ids:
            return {}
        found = self.collection.find({"product.product_id": {"$in": sorted(product_ids)}}, WITHOUT_OUTBOX)
        return {tweet["product"]["product_id"]: tweet for tweet in found}
