"""What buyers see, with a buyer token (subject = buyer id, ``country`` claim):

    GET /v1/timeline?limit=&cursor=     product tweets, newest first, each with buy_button
    GET /v1/tweets/{tweet_id}           one tweet                                  200 | 404
``buy_button`` is the rollout gate's decision for this buyer and the tweet's seller, decided
in-process from the local replica of the rules (no call per request); sold-out variants are
marked on the card.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from tweet_service.callers import IDENTIFIER, Buyer
from tweet_service.cursors import Cursor, next_cursor
from tweet_service.gate import rules_in_force, shows_button
from tweet_service.tweets import Tweets
from tweet_service.views import TimelinePage, TweetView, tweet_view

router = APIRouter(prefix="/v1", tags=["buyers"])


def tweets(request: Request) -> Tweets:
    return request.app.state.tweets  # type: ignore[no-any-return]


@router.get("/timeline", summary="Tweets newest first, with the Buy button where the gate shows it; buyer")
def timeline(
    buyer: Buyer,
    request: Request,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> TimelinePage:
    found = tweets(request).page(limit=limit, after=cursor)
    related = tweets(request).related_of(found)
    rules = rules_in_force(request)
    shown = [tweet_view(t, related, buy_button=shows_button(rules, buyer, t["merchant_id"])) for t in found]
    return TimelinePage(tweets=shown, next_cursor=next_cursor(found, limit))


@router.get("/tweets/{tweet_id}", summary="One tweet with its product card and Buy button; buyer")
def one_tweet(
    tweet_id: Annotated[str, Path(min_length=1, max_length=128, pattern=IDENTIFIER)],
    buyer: Buyer,
    request: Request,
) -> TweetView:
    tweet = tweets(request).get(tweet_id)
    if tweet is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such tweet")
    rules = rules_in_force(request)
    return tweet_view(
        tweet,
        tweets(request).related_of([tweet]),
        buy_button=shows_button(rules, buyer, tweet["merchant_id"]),
    )
