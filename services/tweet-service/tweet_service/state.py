"""The stores a running tweet-service keeps on its app (built by the lifespan in app.py), as the
routes reach them."""

from __future__ import annotations

from fastapi import Request

from tweet_service.merchants import Merchants
from tweet_service.timeline_reads import TimelineReads
from tweet_service.tweets import Tweets


def tweets_of(request: Request) -> Tweets:
    return request.app.state.tweets  # type: ignore[no-any-return]


def merchants_of(request: Request) -> Merchants:
    return request.app.state.merchants  # type: ignore[no-any-return]


def timeline_reads_of(request: Request) -> TimelineReads:
    return request.app.state.timeline_reads  # type: ignore[no-any-return]
