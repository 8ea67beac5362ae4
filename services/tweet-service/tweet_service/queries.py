"""The reads of the ``tweets`` collection, as filters and orders shared by the store
(``tweets.Tweets``, pymongo's threaded client) and the buyers' timeline read
(``timeline_reads.TimelineReads``, pymongo's asyncio client), so both read the same way:
newest first by (posted_at, _id), the index ``Tweets.ensure_indexes`` creates, and a page
after a cursor is the tweets strictly older than the cursor's (posted_at, tweet_id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import DESCENDING

Cursor = tuple[datetime, str]
NEWEST_FIRST = [("posted_at", DESCENDING), ("_id", DESCENDING)]
WITHOUT_OUTBOX = {"outbox": 0, "outbox_pending": 0, "inbox": 0, "lease": 0}


def page_filter(after: Cursor | None = None, merchant_id: str | None = None) -> dict[str, Any]:
    """Tweets after ``after`` (the (posted_at, tweet_id) of the last tweet already shown)."""
    query: dict[str, Any] = {}
    if merchant_id is not None:
        query["merchant_id"] = merchant_id
    if after is not None:
        posted_at, tweet_id = after
        query["$or"] = [
            {"posted_at": {"$lt": posted_at}},
            {"posted_at": posted_at, "_id": {"$lt": tweet_id}},
        ]
    return query


def related_filter(shown: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The tweets selling any related product of the ``shown`` tweets (one query for a whole
    page), or None when they name none."""
    product_ids = {p for t in shown if t["product"] for p in t["product"]["related_product_ids"]}
    return {"product.product_id": {"$in": sorted(product_ids)}} if product_ids else None


def by_product(tweets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """product_id -> the tweet that sells it."""
    return {tweet["product"]["product_id"]: tweet for tweet in tweets}
