"""Merchants' tweets over HTTP; every route takes the merchant's own API key (X-Api-Key) and
answers 403 when the key is another merchant's.

    POST /v1/merchants/{merchant_id}/tweets                               post a tweet  201
    GET  /v1/merchants/{merchant_id}/tweets?limit=&cursor=                own tweets, newest first
    POST /v1/merchants/{merchant_id}/tweets/{tweet_id}/variants/{sku}/restock   add units
    PUT  /v1/merchants/{merchant_id}/tweets/{tweet_id}/price              change the price
A restock or price change may carry an ``Idempotency-Key`` header: the same key on the same
tweet is applied once (a retry after a timeout or a 503 answers the tweet as it is, unchanged),
so a client can retry a change whose answer it did not get. Only a hash of the key is kept. A
product may be attached only by a
seller allow-listed by the rollout rule in force (403, which names the rollout-service call that
allow-lists). Errors never repeat what the caller sent: an
unknown tweet or variant is the same fixed 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Request, status

from buybutton.inputs import CardFree
from tweet_service.callers import IDENTIFIER, ActingMerchant, TweetId
from tweet_service.cursors import Cursor, PageSize, next_cursor
from tweet_service.gate import may_sell, rules_in_force
from tweet_service.inputs import PriceChangeIn, RestockIn, TweetIn
from tweet_service.state import tweets_of
from tweet_service.tweets import TweetProblem, Tweets, UnknownTweet
from tweet_service.views import TweetBody, TweetPage, tweet_body

router = APIRouter(prefix="/v1/merchants/{merchant_id}/tweets", tags=["merchants' tweets"])
Sku = Annotated[str, Path(min_length=1, max_length=128, pattern=IDENTIFIER), CardFree]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=IDENTIFIER,
        description="the same key on the same tweet is applied once; retry with it after a timeout or 503",
    ),
]
UNKNOWN_TWEET_OR_VARIANT = "no such tweet of this merchant, or no such variant of its product"


@router.post("", status_code=201, summary="Post a tweet, optionally selling a product; the merchant itself")
def post_tweet(tweet: TweetIn, merchant_id: ActingMerchant, request: Request) -> TweetBody:
    if tweet.product is not None and not may_sell(rules_in_force(request), merchant_id):
        rule = request.app.state.rollout_rule
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="only allow-listed sellers may attach a product: an admin adds the seller with"
            f" POST /v1/rules/{rule}/sellers on rollout-service (see docs/rollout-gate.md)",
        )
    try:
        posted = tweets_of(request).post(merchant_id, tweet)
    except TweetProblem as problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(problem)) from None
    return tweet_body(posted, tweets_of(request).related_of([posted]))


@router.get("", summary="Own tweets, newest first; the merchant itself")
def own_tweets(
    merchant_id: ActingMerchant,
    request: Request,
    cursor: Cursor = None,
    limit: PageSize = 20,
) -> TweetPage:
    found = tweets_of(request).page(limit=limit, after=cursor, merchant_id=merchant_id)
    related = tweets_of(request).related_of(found)
    return TweetPage(tweets=[tweet_body(t, related) for t in found], next_cursor=next_cursor(found, limit))


@router.post("/{tweet_id}/variants/{sku}/restock", summary="Add units of one variant; the merchant itself")
def restock(
    tweet_id: TweetId,
    sku: Sku,
    units: RestockIn,
    merchant_id: ActingMerchant,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> TweetBody:
    return _change(
        request,
        lambda store: store.restock(merchant_id, tweet_id, sku, units.units, request_key=idempotency_key),
    )


@router.put("/{tweet_id}/price", summary="Change the product's price; the merchant itself")
def change_price(
    tweet_id: TweetId,
    change: PriceChangeIn,
    merchant_id: ActingMerchant,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> TweetBody:
    price = change.price.money()
    return _change(
        request, lambda store: store.change_price(merchant_id, tweet_id, price, request_key=idempotency_key)
    )


def _change(request: Request, apply: Callable[[Tweets], dict[str, Any]]) -> TweetBody:
    store = tweets_of(request)
    try:
        changed = apply(store)
    except UnknownTweet:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=UNKNOWN_TWEET_OR_VARIANT) from None
    except TweetProblem as problem:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(problem)) from None
    return tweet_body(changed, store.related_of([changed]))
