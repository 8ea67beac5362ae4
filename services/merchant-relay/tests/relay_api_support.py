"""Test data for merchant-relay's merchant API: two partner merchants (Puddle & Co. and Galosh
GmbH), merchant tokens signed by a test tweet-service, a resolver that knows the public and the
sneaky host names the tests register, and helpers that put an order where the delivery pipeline
would (``relay_orders``, ``deliveries``)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from buybutton.auth import TokenIssuer

AUD = "merchant-relay"
PUDDLE = "merchant-puddle-co"
GALOSH = "merchant-galosh-gmbh"
PUBLIC_HOST = "hooks.puddle.example"
PUBLIC_ADDRESS = "93.184.215.14"
KNOWN_HOSTS = {
    PUBLIC_HOST: [PUBLIC_ADDRESS],
    "hooks.galosh.example": ["93.184.215.15"],
    "rebound.puddle.example": ["93.184.215.14", "10.0.0.7"],  # one public, one private address
    "sneaky.puddle.example": ["127.0.0.1"],
    "metadata.puddle.example": ["169.254.169.254"],
}
PAID_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def resolve_test_hosts(host: str, port: int) -> list[str]:
    """The test's own names, and the system's resolver for every other (``localhost``)."""
    if host in KNOWN_HOSTS:
        return KNOWN_HOSTS[host]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def merchant(issuer: TokenIssuer, merchant_id: str = PUDDLE) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.mint('merchant', merchant_id, audience=AUD)}"}


def relay_order(
    order_id: str, merchant_id: str = PUDDLE, *, minutes: int = 0, state: str = "forwarded"
) -> dict[str, Any]:
    """An order as the pipeline stores it: the merchant's copy, without address or contact."""
    return {
        "_id": order_id,
        "merchant_id": merchant_id,
        "buyer_id": "buyer-ada",
        "state": state,
        "created_at": PAID_AT + timedelta(minutes=minutes),
        "order": {
            "line_items": [{"product_id": "product-raincoat", "variant_id": "raincoat-m", "quantity": 2}],
            "amount": {"amount_minor": 9_998, "currency": "USD"},
            "platform_fee": {"amount_minor": 500, "currency": "USD"},
            "payout": {"amount_minor": 9_498, "currency": "USD"},
        },
        "channels": ["webhook"],
        "version": 1,
        "sequence": 1,
        "inbox": [],
        "outbox": [],
        "outbox_pending": False,
    }


def delivery(
    order_id: str, merchant_id: str = PUDDLE, *, state: str = "delivered", last_status: str = "200"
) -> dict[str, Any]:
    """A delivery as the worker stores it (``last_status`` a string, as the worker writes it)."""
    return {
        "_id": f"msg_{order_id}_paid",
        "merchant_id": merchant_id,
        "order_id": order_id,
        "kind": "order.paid",
        "state": state,
        "attempts": 1,
        "last_status": last_status,
        "first_attempt_at": PAID_AT,
        "next_attempt_at": None,
    }
