"""Builds vault-service's HTTP app from its settings (nothing is built at import time).

The lifespan opens MongoDB, builds the key ring (without retired versions) and the vault, and
runs the outbox relay that publishes BuyerProfileSaved / BuyerDataErased and the consume loop
that records paid orders (PaymentCaptured) for merchant-relay's shipping reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pymongo import MongoClient

from buybutton.events import PaymentCaptured
from buybutton.kafka.consumer import ConsumeLoop
from buybutton.kafka.producer import EventPublisher
from buybutton.outbox import OutboxRelay
from buybutton.service import service_app
from buybutton.unit_of_work import MongoAggregateStore
from vault_service.api import router
from vault_service.config import Settings
from vault_service.fields import DecryptionFailed
from vault_service.keyring import ConfiguredKeyRing, KeyRingError, UnwrapFailed
from vault_service.paid_orders import record_paid_order
from vault_service.vault import Vault, retired_versions

log = structlog.get_logger(__name__)


def build_vault(settings: Settings, client: MongoClient[dict[str, object]]) -> Vault:
    db = client[settings.database_name]
    keystore = client[settings.keystore_database_name]
    keyring = ConfiguredKeyRing.from_config(
        settings.master_keys, active_version=settings.active_key_version, retired=retired_versions(db)
    )
    return Vault(db, keyring, keystore=keystore)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client: MongoClient[dict[str, object]] = MongoClient(settings.mongodb_url, tz_aware=True)
        vault = build_vault(settings, client)
        vault.ensure_indexes()
        app.state.vault = vault
        publisher = await EventPublisher.start(
            settings.kafka_bootstrap_servers,
            client_id=settings.service_name,
            topic_prefix=settings.topic_prefix,
        )
        app.state.outbox = OutboxRelay([vault.profiles], publisher)
        app.state.outbox.ensure_indexes()
        payments = ConsumeLoop(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=settings.service_name,
            routes={
                PaymentCaptured: partial(
                    record_paid_order, paid_orders=MongoAggregateStore(vault.paid_orders)
                )
            },
            publisher=publisher,
        )
        await payments.start()
        stop = asyncio.Event()
        background = [
            asyncio.create_task(app.state.outbox.run(stop)),
            asyncio.create_task(payments.run(stop)),
        ]
        try:
            yield
        finally:
            stop.set()
            with suppress(asyncio.CancelledError):
                await asyncio.gather(*background)
            await payments.stop()
            await publisher.stop()
            client.close()

    app = service_app(settings, lifespan=lifespan)
    app.include_router(router)
    app.add_exception_handler(DecryptionFailed, _integrity_failure)
    app.add_exception_handler(UnwrapFailed, _integrity_failure)
    app.add_exception_handler(KeyRingError, _integrity_failure)
    return app


async def _integrity_failure(_: Request, error: Exception) -> JSONResponse:
    """Stored ciphertext that does not authenticate is never answered with wrong data."""
    log.error("stored buyer data failed its integrity check", error_class=type(error).__name__)
    return JSONResponse(
        status_code=500,
        content={
            "detail": "stored buyer data failed its integrity check; nothing was returned",
            "error": type(error).__name__,
        },
    )
