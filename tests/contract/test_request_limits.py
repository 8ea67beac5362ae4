"""Every service, from its own app factory: a 5 MB body answers 413 before any route parses it
(declared by Content-Length, or chunked), card data in a query parameter answers 422 before any
route (declared or not) without repeating it, and a service started without ENVIRONMENT (or,
for the vault, without a key ring outside development, or without its key store's path) refuses
to start with one line naming the variable."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from buybutton.auth import generate_signing_key
from devstack.components.service import PLATFORM_SERVICES, ServiceSpec
from devstack.testing import offline_service_settings

FIVE_MB = 5 * 1024 * 1024
# a route of each service that takes a body (the services still to come: any path)
BODY_ROUTES = {
    "tweet-service": ("POST", "/v1/merchants/merchant-puddle-and-co/tweets"),
    "checkout-service": ("POST", "/v1/orders"),
    "vault-service": ("PUT", "/v1/me/profile"),
    "merchant-relay": ("POST", "/v1/anything"),
    "rollout-service": ("PUT", "/v1/rules/buy-button"),
}
CARD_QUERIES = {
    "tweet-service": "/v1/timeline?cursor=4242424242424242",
    "checkout-service": "/v1/orders?ref=4242-4242-4242-4242",
    "vault-service": "/v1/buyers/buyer-ada/payment?order_id=4242424242424242",
    "merchant-relay": "/v1/orders/order-1?buyer_id=4242.4242.4242.4242",
    "rollout-service": "/v1/explain?user_id=4242424242424242&seller_id=acme-store",
}


def client_of(spec: ServiceSpec) -> TestClient:
    create_app = importlib.import_module(f"{spec.package}.app").create_app
    settings = offline_service_settings(spec.package)
    return TestClient(create_app(settings))  # no lifespan: the guards need nothing else


def chunked(total: int) -> Iterator[bytes]:
    for start in range(0, total, 64 * 1024):
        yield b"{" * min(64 * 1024, total - start)


@pytest.mark.parametrize("spec", PLATFORM_SERVICES, ids=lambda s: s.name)
@pytest.mark.parametrize("how", ["content-length", "chunked"])
def test_a_5_mb_body_answers_413_unparsed(spec: ServiceSpec, how: str) -> None:
    method, path = BODY_ROUTES[spec.name]
    body = b"{" * FIVE_MB  # not even JSON: it is never parsed
    response = client_of(spec).request(
        method, path, content=body if how == "content-length" else chunked(FIVE_MB)
    )
    assert response.status_code == 413, response.text
    assert "longer than 1048576 bytes" in response.json()["detail"]


@pytest.mark.parametrize("spec", PLATFORM_SERVICES, ids=lambda s: s.name)
def test_card_data_in_a_query_answers_422_unrepeated(spec: ServiceSpec) -> None:
    response = client_of(spec).get(CARD_QUERIES[spec.name])  # no token: refused before the route
    assert response.status_code == 422, response.text
    assert "card data is never accepted" in response.json()["detail"][0]["msg"]
    assert "4242" not in response.text


def start(spec: ServiceSpec, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m <package>`` with only ``env`` (and PATH): no variable comes from the caller."""
    environment = {
        "PATH": "/usr/bin:/bin",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "MONGODB_URL": "mongodb://127.0.0.1:1/",
        "AUTH_PUBLIC_KEY": generate_signing_key()[1],
        f"{spec.env_prefix}_HTTP_PORT": "1",  # never reached: start-up fails before serving
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", spec.package], env=environment, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("spec", PLATFORM_SERVICES, ids=lambda s: s.name)
def test_a_service_without_environment_refuses_to_start_in_one_line(spec: ServiceSpec) -> None:
    started = start(spec)
    lines = started.stderr.strip().splitlines()
    print(f"{spec.name}: exit {started.returncode}: {started.stderr.strip()}")
    assert started.returncode != 0
    assert len(lines) == 1 and lines[0].startswith(f"{spec.name} refuses to start:"), started.stderr
    assert "ENVIRONMENT" in lines[0]


@pytest.mark.parametrize(
    ("environment", "keys", "keystore", "named"),
    [
        ("production", None, "keys.sqlite3", "VAULT_MASTER_KEYS"),
        ("test", None, "keys.sqlite3", "VAULT_MASTER_KEYS"),
        ("staging", "1:YnV5YnV0dG9uLWRldmVsb3BtZW50LW1hc3Rlci1rMSE=", "keys.sqlite3", "development key"),
        ("development", None, None, "VAULT_KEYSTORE_PATH: Field required"),
    ],
)
def test_the_vault_refuses_to_start_without_its_own_key_ring_outside_development_or_its_key_store(
    environment: str, keys: str | None, keystore: str | None, named: str
) -> None:
    vault = next(s for s in PLATFORM_SERVICES if s.name == "vault-service")
    env = {"VAULT_MASTER_KEYS": keys} if keys else {}
    started = start(
        vault, ENVIRONMENT=environment, **env, **({"VAULT_KEYSTORE_PATH": keystore} if keystore else {})
    )
    lines = started.stderr.strip().splitlines()
    assert started.returncode != 0 and len(lines) == 1 and named in lines[0], started.stderr
    assert "YnV5" not in started.stderr  # the value is never repeated


def test_vault_admin_refuses_to_start_without_environment_in_one_line() -> None:
    vault_admin = Path(sys.executable).parent / "vault-admin"
    env = {
        "PATH": "/usr/bin:/bin",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "MONGODB_URL": "mongodb://127.0.0.1:1/",
        "VAULT_KEYSTORE_PATH": "keys.sqlite3",
    }
    started = subprocess.run(
        [str(vault_admin), "keys"],
        env={**env, "AUTH_PUBLIC_KEY": "pem"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert started.stderr.strip() == "vault-admin refuses to start: ENVIRONMENT: Field required", (
        started.stderr
    )
