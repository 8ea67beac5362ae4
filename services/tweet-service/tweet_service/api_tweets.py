"""Merchants' tweets over HTTP; every route takes the merchant's own API key (X-Api-Key) and
answers 403 when the key is another merchant's.

    POST /v1/merchants/{merchant_id}/tweets                               post a tweet  201
    GET  /v1/merchants/{merchant_id}/tweets?limit=&cursor=                own tweets, newest first
    POST /v1/merchants/{merchant_id}/tweets/{tweet_id}/variants/{sku}/restock   add units
    PUT  /v1/merchants/{merchant_id}/tweets/{tweet_id}/price              change the price
A product may be attached only by a seller allow-listed by the rollout rule in force (403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from tweet_service.callers import IDENTIFIER, ActingMerchant
from tweet_service.cursors import Cursor, next_cursor
from tweet_service.gate import may_sell, rules_in_force
from tweet_service.inputs import PriceChangeIn, RestockIn, TweetIn
from tweet_service.tweets import TweetProblem, Tweets, UnknownTweet
from tweet_service.views import TweetBody, TweetPage, tweet_body

router = APIRouter(prefix="/v1/merchants/{merchant_id}/tweets", tags=["merchants' tweets"])
TweetId = Annotated[str, Path(min_length=1, max_length=128, pattern=IDENTIFIER)]
Sku = Annotated[str, Path(min_length=1, max_length=128, pattern=IDENTIFIER)]


def tweets(request: Request) -> Tweets:
    return request.app.state.tweets  # type: ignore[no-any-return]


@router.post("", status_code=201, summary="Post a tweet, optionally selling a product; the merchant itself")
def post_tweet(tweet: TweetIn, merchant_id: ActingMerchant, request: Request) -> TweetBody:
    if tweet.product is not None and not may_sell(rules_in_force(request), merchant_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="only allow-listed sellers may attach a product"
        )
    try:
        posted = tweets(request).post(merchant_id, tweet)
    except TweetProblem as problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(problem)) from None
    return tweet_body(posted, tweets(request).related_of([posted]))


@router.get("", summary="Own tweets, newest first; the merchant itself")
def own_tweets(
    merchant_id: ActingMerchant,
    request: Request,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> TweetPage:
    found = tweets(request).page(limit=limit, after=cursor, merchant_id=merchant_id)
    related = tweets(request).related_of(found)
    return TweetPage(tweets=[tweet_body(t, related) for t in found], next_cursor=next_cursor(found, limit))


@router.post("/{tweet_id}/variants/{sku}/restock", summary="Add units of one variant; the merchant itself")
def restock(
    tweet_id: TweetId, sku: Sku, units: RestockIn, merchant_id: ActingMerchant, request: Request
) -> TweetBody:
    return _change(request, lambda store: store.restock(merchant_id, tweet_id, sku, units.units))


@router.put("/{tweet_id}/price", summary="Change the product's price; the merchant itself")
def change_price(
    tweet_id: TweetId, change: PriceChangeIn, merchant_id: ActingMerchant, request: Request
) -> TweetBody:
    return _change(request, lambda store: store.change_price(merchant_id, tweet_id, change.price.money()))


def _change(request: Request, apply: Callable[[Tweets], dict[str, Any]]) -> TweetBody:
    store = tweets(request)
    try:
        changed = apply(store)
    except UnknownTweet as missing:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(missing)) from None
    except TweetProblem as problem:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(problem)) from None
    return tweet_body(changed, store.related_of([changed]))
