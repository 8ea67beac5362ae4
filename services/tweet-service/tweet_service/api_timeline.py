"""What buyers see, with a buyer token (subject = buyer id, ``country`` claim):

    GET /v1/timeline?limit=&cursor=     product tweets, newest first, each with buy_button
    GET /v1/tweets/{tweet_id}           one tweet                                  200 | 404
``buy_button`` is the rollout gate's decision for this buyer and the tweet's seller, decided
in-process from the local replica of the rules (no call per request); sold-out variants are
marked on the card.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from tweet_service.callers import Buyer, TweetId
from tweet_service.cursors import Cursor, PageSize, next_cursor
from tweet_service.gate import rules_in_force, shows_button
from tweet_service.state import timeline_reads_of, tweets_of
from tweet_service.views import TimelinePage, TweetView, buyer_tweet, timeline_json, tweet_view

router = APIRouter(prefix="/v1", tags=["buyers"])


@router.get(
    "/timeline",
    response_model=TimelinePage,
    summary="Tweets newest first, with the Buy button where the gate shows it; buyer",
)
async def timeline(
    buyer: Buyer,
    request: Request,
    cursor: Cursor = None,
    limit: PageSize = 20,
) -> Response:
    # a coroutine, as are its dependencies: the whole request stays on the event loop
    found, related = await timeline_reads_of(request).page_with_related(limit=limit, after=cursor)
    rules = rules_in_force(request)
    shown = [buyer_tweet(t, related, buy_button=shows_button(rules, buyer, t["merchant_id"])) for t in found]
    return Response(timeline_json(shown, next_cursor(found, limit)), media_type="application/json")


@router.get("/tweets/{tweet_id}", summary="One tweet with its product card and Buy button; buyer")
def one_tweet(
    tweet_id: TweetId,
    buyer: Buyer,
    request: Request,
) -> TweetView:
    tweet = tweets_of(request).get(tweet_id)
    if tweet is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such tweet")
    rules = rules_in_force(request)
    return tweet_view(
        tweet,
        tweets_of(request).related_of([tweet]),
        buy_button=shows_button(rules, buyer, tweet["merchant_id"]),
    )
