"""Test data and helpers for tweet-service tests: Puddle & Co.'s yellow raincoat, tokens and
headers, and a way to put rollout rules on this test's own rules topic."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from gate_samples import PUDDLE as PUDDLE
from gate_samples import RULE as RULE
from gate_samples import rules as rules

from buybutton.auth import TokenIssuer
from buybutton.events import RolloutChanged
from buybutton.kafka.producer import EventPublisher

AUD = "tweet-service"
GALOSH = "merchant-galosh-gmbh"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def admin(issuer: TokenIssuer, *scopes: str) -> dict[str, str]:
    return bearer(issuer.mint("admin", "admin-grace", audience=AUD, scopes=scopes or ("merchants:write",)))


def buyer(issuer: TokenIssuer, buyer_id: str = "buyer-ada", country: str | None = "US") -> dict[str, str]:
    return bearer(issuer.mint("buyer", buyer_id, audience=AUD, country=country))


def api_key(key: str) -> dict[str, str]:
    return {"X-Api-Key": key}


def raincoat(**product_changes: Any) -> dict[str, Any]:
    product = {
        "title": "Puddle raincoat",
        "description": "Yellow, seam-sealed, with a hood that stays put.",
        "price": {"amount_minor": 4_999, "currency": "USD"},
        "image_urls": ["https://img.example.com/raincoat.jpg"],
        "kind": "physical",
        "variants": [
            {"sku": "raincoat-m", "attributes": {"size": "M", "colour": "yellow"}, "stock": 12},
            {"sku": "raincoat-l", "attributes": {"size": "L", "colour": "yellow"}, "stock": 0},
        ],
        **product_changes,
    }
    return {"text": "Stay dry in style: the Puddle raincoat, now buyable right here.", "product": product}


async def publish_rules(bootstrap: str, prefix: str, event: RolloutChanged) -> None:
    publisher = await EventPublisher.start(bootstrap, client_id="tests-rollout", topic_prefix=prefix)
    try:
        await publisher.publish(event)
    finally:
        await publisher.stop()


def register(client: TestClient, issuer: TokenIssuer, merchant_id: str) -> str:
    """Register ``merchant_id`` and return a fresh API key of its own."""
    created = client.post(
        "/v1/merchants",
        headers=admin(issuer),
        json={"merchant_id": merchant_id, "name": merchant_id.title(), "stripe_account_id": "acct_1Puddle"},
    )
    assert created.status_code == 201, created.text
    issued = client.post(f"/v1/merchants/{merchant_id}/api-keys", headers=admin(issuer))
    assert issued.status_code == 201, issued.text
    return str(issued.json()["api_key"])
