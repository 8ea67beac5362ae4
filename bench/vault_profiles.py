"""Vault throughput: profile saves and reads per second through vault-service (in-process
core and over HTTP), against raw pymongo writes/reads of a document of the same size and raw
AES-256-GCM on the same fields, all measured in this run on the same MongoDB server.

Target: the service core within 3x of raw pymongo (a vault save is two profile loads, a key
lookup in the key store and a conditional write; a vault read is a profile lookup, a key lookup
and an audit write, at once; against one raw operation). The key store is an SQLite file in a
temporary folder, as VAULT_KEYSTORE_PATH would name it. A buyer's first save also creates the
data key (one durable SQLite commit); a save of a buyer who has one ("resave") does not.

    make bench-vault     (BENCH_VAULT_N operations per figure, default 400)
Writes bench/results/vault-profiles.json.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bson import Binary
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pymongo import MongoClient

from buybutton.auth import Principal, TokenIssuer, generate_signing_key
from buybutton.kafka.producer import EventPublisher
from buybutton.logging import configure_logging
from buybutton.outbox import OutboxRelay
from devstack.service_process import running_service
from devstack.topics import registry_topics_under
from vault_service.keyring import ConfiguredKeyRing
from vault_service.keystore import SqliteKeyStore
from vault_service.profile import ENCRYPTED_FIELDS, ProfileIn
from vault_service.vault import Vault

RESULTS = Path(__file__).parent / "results" / "vault-profiles.json"
CHECKOUT = Principal("service", "checkout-service", frozenset({"profiles:write", "payment:read"}))
PROFILE = {
    "shipping_addresses": [
        {
            "recipient": "Ada Lovelace",
            "line1": "12 Analytical Row",
            "city": "London",
            "postal_code": "N1 9GU",
            "country": "GB",
            "is_default": True,
        }
    ],
    "contact_email": "ada@example.com",
    "stripe_customer_id": "cus_BenchAda01",
    "default_payment_method_id": "pm_BenchVisa01",
    "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
}


def rate(count: int, operation: Callable[[int], object]) -> float:
    began = time.perf_counter()
    for n in range(count):
        operation(n)
    return count / (time.perf_counter() - began)


def raw_aes(count: int) -> float:
    key = AESGCM(AESGCM.generate_key(bit_length=256))
    fields = {
        k: json.dumps(v).encode() for k, v in ProfileIn.model_validate(PROFILE).encrypted_values().items()
    }

    def seal_and_open(_: int) -> None:
        for name, value in fields.items():
            nonce = os.urandom(12)
            key.decrypt(nonce, key.encrypt(nonce, value, name.encode()), name.encode())

    return rate(count, seal_and_open)


async def drain_outbox(vault: Vault) -> None:
    publisher = await EventPublisher.start(
        os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        client_id="bench",
        topic_prefix=f"bench-{uuid.uuid4().hex[:6]}.",
    )
    try:
        relay = OutboxRelay([vault.profiles], publisher)
        while await relay.relay_once():
            pass
    finally:
        await publisher.stop()


def main() -> None:
    configure_logging("vault-service", level="WARNING")  # as deployed, minus per-call info lines
    count = int(os.environ.get("BENCH_VAULT_N", "400"))
    mongo_url = os.environ["MONGODB_URL"]
    database = f"bench_vault_{uuid.uuid4().hex[:8]}"
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url, tz_aware=True)
    db = client[database]
    folder = Path(tempfile.mkdtemp(prefix="bench-vault-"))
    ring = ConfiguredKeyRing.from_config("1:" + __import__("base64").b64encode(os.urandom(32)).decode())
    vault = Vault(db, ring, SqliteKeyStore(folder / "keys.sqlite3"))
    vault.ensure_indexes()
    profile = ProfileIn.model_validate(PROFILE)
    try:
        vault.save("size-probe", profile, actor=CHECKOUT)
        stored = db["profiles"].find_one({"_id": "size-probe"}, {"outbox": 0})
        assert stored is not None
        filler = {"_id": "", "blob": Binary(os.urandom(len(json.dumps(stored, default=str))))}
        raw = db["raw_documents"]
        figures = {
            "raw_pymongo_write_per_s": rate(
                count, lambda n: raw.replace_one({"_id": f"r{n}"}, {**filler, "_id": f"r{n}"}, upsert=True)
            ),
            "raw_pymongo_read_per_s": rate(count, lambda n: raw.find_one({"_id": f"r{n}"})),
            "raw_aes_gcm_profile_seal_open_per_s": raw_aes(count),
            "vault_save_per_s": rate(count, lambda n: vault.save(f"buyer-{n}", profile, actor=CHECKOUT)),
            "vault_resave_per_s": rate(count, lambda n: vault.save(f"buyer-{n}", profile, actor=CHECKOUT)),
            "vault_read_per_s": rate(
                count, lambda n: vault.read(f"buyer-{n}", ENCRYPTED_FIELDS, actor=CHECKOUT, purpose="bench")
            ),
        }
        # its own database, so that every figure is taken on collections that grow from empty
        # alike (a server that scans a collection on update_one would make size matter)
        figures.update(http_figures(count, client, f"{database}_http", folder))
    finally:
        vault.keys.close()
        client.drop_database(database)
        client.drop_database(f"{database}_http")
        client.close()
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()
    ratios = {
        "vault_save_over_raw_write": figures["raw_pymongo_write_per_s"] / figures["vault_save_per_s"],
        "vault_resave_over_raw_write": figures["raw_pymongo_write_per_s"] / figures["vault_resave_per_s"],
        "vault_read_over_raw_read": figures["raw_pymongo_read_per_s"] / figures["vault_read_per_s"],
        "http_save_over_raw_write": figures["raw_pymongo_write_per_s"] / figures["http_save_per_s"],
        "http_read_over_raw_read": figures["raw_pymongo_read_per_s"] / figures["http_read_per_s"],
    }
    result = {
        "measured_at": datetime.now(UTC).isoformat(),
        "operations": count,
        "per_second": {k: round(v) for k, v in figures.items()},
        "slowdown_vs_raw": {k: round(v, 2) for k, v in ratios.items()},
        "target": "core <= 3.0",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for name, value in result["per_second"].items():
        print(f"{name:40} {value:>8} /s")
    for name, value in result["slowdown_vs_raw"].items():
        print(f"{name:40} {value:>8.2f} x slower than raw pymongo")
    print(f"written to {RESULTS}")


def http_figures(
    count: int, client: MongoClient[dict[str, Any]], database: str, folder: Path
) -> dict[str, float]:
    """The same saves and reads over HTTP against vault-service running as its own process,
    with GET /healthz (no database, no token) as the hello-world baseline of the HTTP stack.
    Each read is for an open order of its buyer, put in the vault's order view beforehand (as
    BuyClicked would)."""
    private, public = generate_signing_key()
    prefix = f"bench-{uuid.uuid4().hex[:6]}."
    env = {
        "ENVIRONMENT": "development",
        "MONGODB_URL": os.environ["MONGODB_URL"],
        "AUTH_PUBLIC_KEY": public,
        "VAULT_MONGODB_DATABASE": database,
        "VAULT_KEYSTORE_PATH": str(folder / "http-keys.sqlite3"),
        "LOG_LEVEL": "WARNING",
        "KAFKA_TOPIC_PREFIX": prefix,
    }
    token = TokenIssuer(private).mint(
        "service", "checkout-service", audience="vault-service", scopes=["profiles:write", "payment:read"]
    )
    with (
        registry_topics_under(os.environ["KAFKA_BOOTSTRAP_SERVERS"], prefix),
        running_service("vault-service", env) as vault,
        httpx.Client(base_url=vault.url, headers={"Authorization": f"Bearer {token}"}) as http,
    ):

        def save(n: int) -> None:
            http.put(f"/v1/buyers/http-{n}/profile", json=PROFILE).raise_for_status()

        def read(n: int) -> None:
            http.get(f"/v1/buyers/http-{n}/payment", params={"order_id": f"o-{n}"}).raise_for_status()

        client[database]["orders"].insert_many(
            [{"_id": f"o-{n}", "buyer_id": f"http-{n}", "status": "open"} for n in range(count)]
        )
        return {
            "http_healthz_per_s": rate(count, lambda _: http.get("/healthz").raise_for_status()),
            "http_save_per_s": rate(count, save),
            "http_read_per_s": rate(count, read),
        }


if __name__ == "__main__":
    main()
