"""The buyers' timeline read on pymongo's asyncio client: a page of tweets newest first and the
tweets selling their related products (``queries``), read without leaving the event loop.

Why not the store's threaded client in a worker thread: the token check's Ed25519 verification
releases the GIL, and while a worker thread holds it the event loop waits up to the interpreter's
switch interval (5 ms) to get it back; with no worker thread on the request's path, nothing
contends. Reads only; every write goes through the store (``tweets.Tweets``).

Whole documents are read, the unit of work's fields too: the outbox is empty once the relay
has published and the inbox holds at most the last 200 causes (hashed idempotency keys and
checkout's stock events' ids, a few KB at worst), the cards take only their own fields, and a
projection is not free everywhere: SecantusDB deep-copies each document in Python to apply one,
a third of its time for a page of 20 (1.15 against 0.78 ms of server CPU).
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from tweet_service.queries import (
    NEWEST_FIRST,
    Cursor,
    by_product,
    page_filter,
    related_filter,
)

Page = tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]


class TimelineReads:
    def __init__(self, tweets: AsyncCollection[dict[str, Any]]) -> None:
        self.tweets = tweets

    async def page_with_related(self, *, limit: int, after: Cursor | None = None) -> Page:
        """The page after ``after``, and product_id -> the tweet selling it for its related products."""
        found = await self.tweets.find(page_filter(after)).sort(NEWEST_FIRST).limit(limit).to_list()
        query = related_filter(found)
        related = await self.tweets.find(query).to_list() if query else []
        return found, by_product(related)
