"""Builds vault-service's HTTP app from its settings (nothing is built at import time).

The lifespan opens MongoDB and the key store, builds the key ring (without retired versions) and
the vault, and runs the outbox relay that publishes BuyerProfileSaved / BuyerDataErased and the
consume loop that keeps the vault's view of orders (BuyClicked, PaymentCaptured, PaymentFailed,
OrderCancelled),
which checkout's payment reads and merchant-relay's shipping reads are checked against.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from functools import partial

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pymongo import MongoClient

from buybutton.events import BuyClicked, OrderCancelled, PaymentCaptured, PaymentFailed
from buybutton.runtime import ServiceRuntime
from buybutton.service import service_app
from buybutton.unit_of_work import MongoAggregateStore
from vault_service import api, checkout_api
from vault_service.config import Settings
from vault_service.fields import DecryptionFailed
from vault_service.keyring import ConfiguredKeyRing, KeyRingError, UnwrapFailed
from vault_service.keystore import SqliteKeyStore
from vault_service.orders import (
    record_order_cancelled,
    record_order_opened,
    record_order_paid,
    record_payment_failed,
)
from vault_service.rotation import retired_versions
from vault_service.vault import Vault

log = structlog.get_logger(__name__)


def build_vault(settings: Settings, client: MongoClient[dict[str, object]]) -> Vault:
    db = client[settings.database_name]
    keyring = ConfiguredKeyRing.from_config(
        settings.master_keys, active_version=settings.active_key_version, retired=retired_versions(db)
    )
    return Vault(db, keyring, SqliteKeyStore(settings.keystore_path))


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ServiceRuntime(settings) as runtime:  # stops whatever started, also after a failed start
            db = runtime.database()
            vault = build_vault(settings, db.client)
            with closing(vault.keys):
                await asyncio.to_thread(vault.ensure_indexes)
                app.state.vault = vault
                app.state.outbox = await runtime.outbox_relay([vault.profiles])
                orders = MongoAggregateStore(vault.orders)
                await runtime.consume(
                    {
                        BuyClicked: partial(record_order_opened, orders=orders),
                        PaymentCaptured: partial(record_order_paid, orders=orders),
                        PaymentFailed: partial(record_payment_failed, orders=orders),
                        OrderCancelled: partial(record_order_cancelled, orders=orders),
                    }
                )
                app.state.health_problem = runtime.health_problem
                yield

    app = service_app(settings, lifespan=lifespan)
    app.include_router(api.router)
    app.include_router(checkout_api.router)
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
