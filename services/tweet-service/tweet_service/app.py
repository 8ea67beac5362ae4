"""Builds tweet-service's HTTP app from its settings (nothing is built at import time).

The lifespan opens MongoDB (pymongo's threaded client for the store, its asyncio client for
the buyers' timeline read) and the catalogue, starts the local replica of the compacted rollout
topic (the gate is decided in-process from it), the consume loop that takes checkout's
sold-out flags from ``checkout.stock.v1`` onto the tweets (``stock``), and the outbox relay
that publishes TweetWithProductPosted, ProductRestocked and ProductPriceChanged to the tweets
topic and MerchantProfileChanged to the merchants topic. Merchant tokens are signed with the service's
own key (``merchant_tokens``), when one is configured.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from buybutton.rollout_replica import RulesReplica
from buybutton.runtime import ServiceRuntime
from buybutton.service import service_app
from tweet_service import api_merchants, api_timeline, api_tokens, api_tweets
from tweet_service.config import Settings
from tweet_service.merchant_tokens import MerchantTokens
from tweet_service.merchants import Merchants
from tweet_service.stock import routes
from tweet_service.timeline_reads import TimelineReads
from tweet_service.tweets import Tweets

log = structlog.get_logger(__name__)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ServiceRuntime(settings) as runtime:  # stops whatever started, also after a failed start
            db = runtime.database()
            app.state.merchants = merchants = Merchants(db, default_fee_bps=settings.default_fee_bps)
            app.state.tweets = tweets = Tweets(db)
            app.state.timeline_reads = TimelineReads(runtime.async_database()[tweets.collection.name])
            await asyncio.to_thread(merchants.ensure_indexes)
            await asyncio.to_thread(tweets.ensure_indexes)
            app.state.rules_replica = replica = await runtime.rules_replica()
            await runtime.outbox_relay(
                [tweets.collection, merchants.merchants], idle_interval_s=settings.outbox_idle_s
            )
            await runtime.consume(routes(tweets=tweets.store))
            app.state.health_problem = runtime.health_problem
            await _wait_for_rules(replica, settings.rules_wait_s)
            yield

    app = service_app(settings, lifespan=lifespan)
    app.state.rollout_rule = settings.rollout_rule
    app.state.merchant_tokens = MerchantTokens.from_settings(settings)
    if app.state.merchant_tokens is None:
        log.warning("no TWEET_MERCHANT_TOKEN_SIGNING_KEY: merchant tokens are not issued (503)")
    for module in (api_merchants, api_tweets, api_timeline, api_tokens):
        app.include_router(module.router)
    return app


async def _wait_for_rules(replica: RulesReplica, timeout_s: float) -> None:
    """Serve only once the rules are known, or after ``timeout_s`` (the gate fails closed)."""
    try:
        await asyncio.wait_for(replica.caught_up.wait(), timeout_s)
    except TimeoutError:
        log.warning("rollout rules not caught up; the Buy button stays hidden until they are")
