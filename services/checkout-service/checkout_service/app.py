"""Builds checkout-service's HTTP app from its settings (nothing is built at import time).

The lifespan opens MongoDB (catalogue, merchant_terms, orders, customers), follows the rollout
rules (local replica; the gate is decided in-process), consumes the tweets, merchants and vault
topics into its views and erasures (handlers.py) and merchant-relay's reports into the orders
(merchant_progress.py), runs the payment worker as its own consumer
group over the orders topic (payment_worker.py), relays the orders' and the catalogue's
outboxes (checkout.orders.v1, checkout.stock.v1), and runs the sweeper (expiry.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog
from fastapi import FastAPI
from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from buybutton.rollout_replica import RulesReplica
from buybutton.runtime import ServiceRuntime
from buybutton.service import service_app
from buybutton.service_tokens import ServiceTokens
from buybutton.topics import PAYMENTS_GROUP
from buybutton.unit_of_work import MongoAggregateStore
from checkout_service import (
    api,
    api_payments,
    api_refunds,
    api_stripe,
    catalogue,
    customers,
    merchants,
    orders,
)
from checkout_service.checkout import Checkout
from checkout_service.config import Settings
from checkout_service.confirming import Confirmer
from checkout_service.expiry import Sweeper, SweeperTask
from checkout_service.handlers import routes
from checkout_service.merchant_progress import relay_routes
from checkout_service.payment_worker import PaymentWorker, forget_buyer
from checkout_service.stripe_gateway import StripeGateway
from checkout_service.vault_client import VAULT_SCOPES, VaultClient

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


def _order_ids_of(db: Database[dict[str, Any]], buyer_id: str) -> list[str]:
    return [o["_id"] for o in db[orders.COLLECTION].find({"buyer_id": buyer_id}, {"_id": 1})]


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ServiceRuntime(settings) as runtime:  # stops whatever started, also after a failed start
            db = runtime.database()
            await asyncio.to_thread(ensure_indexes, db)
            app.state.checkout = checkout = build_checkout(db, settings)
            app.state.orders_collection = db[orders.COLLECTION]
            gateway = StripeGateway.from_settings(settings)
            app.state.gateway = await runtime.started(gateway, gateway.start)
            signing_key = settings.service_signing_key.get_secret_value()
            tokens = ServiceTokens(signing_key, issuer=settings.service_name, audience_scopes=VAULT_SCOPES)
            vault = VaultClient(settings.vault_url, tokens.header)
            app.state.vault = await runtime.started(vault, vault.start)
            app.state.confirmer = Confirmer(checkout, vault, now)
            app.state.rules_replica = replica = await runtime.rules_replica()
            outboxes = [db[orders.COLLECTION], db[catalogue.COLLECTION]]
            await runtime.outbox_relay(outboxes, idle_interval_s=settings.outbox_idle_s)
            customer_store = MongoAggregateStore(db[customers.COLLECTION])
            forget = partial(
                _forget,
                customers_store=customer_store,
                db=db,
                checkout=checkout,
                gateway=gateway,
            )
            await runtime.consume(
                {
                    **routes(catalogue_store=checkout.catalogue, terms_store=checkout.terms, forget=forget),
                    **relay_routes(checkout.orders),
                }
            )
            worker = PaymentWorker(
                orders=checkout.orders,
                customers=customer_store,
                catalogue=checkout.catalogue,
                gateway=gateway,
                vault=vault,
                clock=now,
                return_url=settings.payment_return_url,
            )
            await runtime.consume(worker.routes(), group_id=PAYMENTS_GROUP, lanes=settings.payment_lanes)
            sweeper = Sweeper(
                checkout,
                db[orders.COLLECTION],
                db[catalogue.COLLECTION],
                settings.orphan_grace_s,
                payment_check_s=settings.payment_check_s,
            )
            task = SweeperTask(sweeper, settings.sweep_interval_s)
            await runtime.started(task, task.start)
            app.state.health_problem = runtime.health_problem
            await _wait_for_rules(replica, settings.rules_wait_s)
            yield

    app = service_app(settings, lifespan=lifespan)
    app.state.rollout_rule = settings.rollout_rule
    app.include_router(api.router)
    app.include_router(api_payments.router)
    app.include_router(api_refunds.router)
    app.include_router(api_stripe.router)
    return app


async def _forget(
    buyer_id: str,
    *,
    customers_store: MongoAggregateStore,
    db: Database[dict[str, Any]],
    checkout: Checkout,
    gateway: StripeGateway,
) -> None:
    await forget_buyer(
        buyer_id,
        customers_store=customers_store,
        orders_of_buyer=partial(_order_ids_of, db),
        orders_store=checkout.orders,
        gateway=gateway,
        now=now(),
    )


async def _wait_for_rules(replica: RulesReplica, timeout_s: float) -> None:
    """Serve only once the rules are known, or after ``timeout_s`` (the gate fails closed)."""
    try:
        await asyncio.wait_for(replica.caught_up.wait(), timeout_s)
    except TimeoutError:
        log.warning("rollout rules not caught up; every Buy is refused until they are")
