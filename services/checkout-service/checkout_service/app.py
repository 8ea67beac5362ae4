"""Builds checkout-service's HTTP app from its settings (nothing is built at import time).

The lifespan opens MongoDB (catalogue, merchant_terms, orders), follows the rollout rules
(local replica; the gate is decided in-process), consumes the tweets and merchants topics into
its views (handlers.py), relays the orders' outboxes (BuyClicked, OrderCancelled) to the
checkout topic, and runs the hold sweeper (expiry.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import FastAPI
from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from buybutton.rollout_replica import RulesReplica
from buybutton.runtime import ServiceRuntime
from buybutton.service import service_app
from buybutton.unit_of_work import MongoAggregateStore
from checkout_service import api, catalogue, merchants, orders
from checkout_service.checkout import Checkout
from checkout_service.config import Settings
from checkout_service.expiry import Sweeper, SweeperTask
from checkout_service.handlers import routes

log = structlog.get_logger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


def build_checkout(db: Database[dict[str, Any]], settings: Settings) -> Checkout:
    return Checkout(
        catalogue=MongoAggregateStore(db[catalogue.COLLECTION]),
        terms=MongoAggregateStore(db[merchants.COLLECTION]),
        orders=MongoAggregateStore(db[orders.COLLECTION]),
        hold_s=settings.hold_s,
        clock=now,
    )


def ensure_indexes(db: Database[dict[str, Any]]) -> None:
    db[orders.COLLECTION].create_index([("buyer_id", ASCENDING), ("created_at", DESCENDING)])
    db[orders.COLLECTION].create_index([("state", ASCENDING), ("hold_expires_at", ASCENDING)])
    db[catalogue.COLLECTION].create_index([("holds.expires_at", ASCENDING)])


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ServiceRuntime(settings) as runtime:  # stops whatever started, also after a failed start
            db = runtime.database()
            await asyncio.to_thread(ensure_indexes, db)
            app.state.checkout = checkout = build_checkout(db, settings)
            app.state.orders_collection = db[orders.COLLECTION]
            app.state.rules_replica = replica = await runtime.rules_replica()
            await runtime.outbox_relay([db[orders.COLLECTION]], idle_interval_s=settings.outbox_idle_s)
            await runtime.consume(routes(catalogue_store=checkout.catalogue, terms_store=checkout.terms))
            sweeper = Sweeper(
                checkout, db[orders.COLLECTION], db[catalogue.COLLECTION], settings.orphan_grace_s
            )
            task = SweeperTask(sweeper, settings.sweep_interval_s)
            await runtime.started(task, task.start)
            app.state.health_problem = runtime.health_problem
            await _wait_for_rules(replica, settings.rules_wait_s)
            yield

    app = service_app(settings, lifespan=lifespan)
    app.state.rollout_rule = settings.rollout_rule
    app.include_router(api.router)
    return app


async def _wait_for_rules(replica: RulesReplica, timeout_s: float) -> None:
    """Serve only once the rules are known, or after ``timeout_s`` (the gate fails closed)."""
    try:
        await asyncio.wait_for(replica.caught_up.wait(), timeout_s)
    except TimeoutError:
        log.warning("rollout rules not caught up; every Buy is refused until they are")
