"""What bench/relay.py runs against: vault-service and merchant-relay as real processes on
topics and databases of this run's own, configured only by environment variables as in
production, and a merchant's receiver process (relay_receiver.py) registered as Puddle & Co.'s
endpoint with one signing secret.

Trust as in the platform: the vault trusts the relay's own key for ``shipping:read`` and a
checkout key of this run for ``profiles:write`` (the bench stores each order's address with it,
as checkout does at confirmation). The relay runs with the local endpoint rules (the receiver
listens on 127.0.0.1) and short backoff knobs (a vault read that races the vault's view of the
payment, 403, is retried within a second); everything else is the relay's defaults, its 16
delivery lanes included unless BENCH_RELAY_LANES says otherwise. Topics and databases are
removed afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import MongoClient
from pymongo.database import Database
from relay_receiver import ReceiverProcess, running_receiver
from relay_support import ADDRESS, PUDDLE, endpoint_document, new_secret

from buybutton.auth import TokenIssuer, generate_signing_key
from buybutton.topics import MERCHANT_ORDERS
from buybutton.trusted_issuers import TrustedIssuerSpec, trusted_issuers_json
from devstack.endpoints import Endpoints
from devstack.service_process import RunningService, running_service
from devstack.topics import registry_topics_under

CHECKOUT_SIGNER = "checkout-service"
RELAY_SIGNER = "merchant-relay"


@dataclass(frozen=True)
class RelayBench:
    endpoints: Endpoints
    prefix: str
    relay: RunningService
    vault: RunningService
    receiver: ReceiverProcess
    relay_db: Database[dict[str, Any]]
    relay_key: str  # the relay's service-token key, for the breakdown's own vault reads
    checkout: TokenIssuer
    lanes: int

    async def store_addresses(self, orders: list[tuple[str, str]], concurrency: int = 8) -> None:
        """Each (order, buyer)'s shipping address in the vault, as checkout stores it."""
        token = self.checkout.mint(
            "service", CHECKOUT_SIGNER, audience="vault-service", scopes=["profiles:write"]
        )
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(base_url=self.vault.url, timeout=30) as http:

            async def store(buyer_id: str, order_id: str) -> None:
                async with gate:
                    response = await http.put(
                        f"/v1/buyers/{buyer_id}/orders/{order_id}/shipping",
                        json={"shipping_address": ADDRESS},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    response.raise_for_status()

            await asyncio.gather(*(store(buyer, order) for order, buyer in orders))


def signer(name: str, scopes: list[str]) -> tuple[str, TrustedIssuerSpec]:
    private, public = generate_signing_key()
    spec = TrustedIssuerSpec(
        issuer=name, public_key=public, kinds=["service"], subjects=[name], scopes=scopes
    )
    return private, spec


@contextlib.contextmanager
def relay_bench(endpoints: Endpoints, name: str, *, lanes: int) -> Iterator[tuple[RelayBench, str]]:
    """The running bench and its receiver's signing secret."""
    prefix, database = f"{name}.", name.replace("-", "_")[:40]
    checkout_key, checkout_spec = signer(CHECKOUT_SIGNER, ["profiles:write"])
    relay_key, relay_spec = signer(RELAY_SIGNER, ["shipping:read"])
    common = {
        **endpoints.as_env(),
        "ENVIRONMENT": "test",
        "KAFKA_TOPIC_PREFIX": prefix,
        "AUTH_PUBLIC_KEY": generate_signing_key()[1],
        "LOG_LEVEL": "WARNING",
    }
    state_dir = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    vault_env = {
        **common,
        "AUTH_TRUSTED_ISSUERS": trusted_issuers_json(checkout_spec, relay_spec),
        "VAULT_MONGODB_DATABASE": f"{database}_vault",
        "VAULT_KEYSTORE_PATH": str(state_dir / "vault-keys.sqlite3"),
        "VAULT_MASTER_KEYS": "1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    relay_env = {
        **common,
        "RELAY_SERVICE_SIGNING_KEY": relay_key,
        "RELAY_MONGODB_DATABASE": f"{database}_relay",
        "RELAY_ENDPOINT_RULES": "local",
        "RELAY_BACKOFF_BASE_S": "0.1",
        "RELAY_BACKOFF_CAP_S": "1",
        "RELAY_DELIVERY_HORIZON_H": "1",
        "RELAY_DELIVERY_LANES": str(lanes),
    }
    client: MongoClient[dict[str, Any]] = MongoClient(endpoints.mongodb_url, tz_aware=True)
    secret = new_secret()
    try:
        with (
            registry_topics_under(endpoints.kafka_bootstrap, prefix),
            running_service("vault-service", vault_env) as vault,
            running_receiver(secret) as receiver,
        ):
            relay_db = client[f"{database}_relay"]
            relay_db.endpoints.insert_one(endpoint_document(PUDDLE, receiver.url, secret))
            with running_service("merchant-relay", {**relay_env, "RELAY_VAULT_URL": vault.url}) as relay:
                bench = RelayBench(
                    endpoints,
                    prefix,
                    relay,
                    vault,
                    receiver,
                    relay_db,
                    relay_key,
                    TokenIssuer(checkout_key, issuer=CHECKOUT_SIGNER),
                    lanes,
                )
                try:
                    yield bench, secret
                finally:
                    delete_merchant_topic(
                        endpoints.kafka_bootstrap, MERCHANT_ORDERS.for_merchant(PUDDLE, prefix)
                    )
    finally:
        for suffix in ("vault", "relay"):
            client.drop_database(f"{database}_{suffix}")
        client.close()
        shutil.rmtree(state_dir, ignore_errors=True)


def delete_merchant_topic(bootstrap: str, topic: str) -> None:
    async def delete() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-relay-cleanup")
        await admin.start()
        try:
            if topic in await admin.list_topics():
                await admin.delete_topics([topic])
        finally:
            await admin.close()

    asyncio.run(delete())
