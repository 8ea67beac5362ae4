"""Test data and helpers for vault-service tests: planted canary values, master keys made for
this run, a full profile, a dump of every document for plaintext scans, checkout's order events
as checkout-service would publish them, and polls (with a deadline) for an HTTP answer and for
the vault's view of orders."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from typing import Any

import httpx
from bson import Binary
from fastapi.testclient import TestClient
from pymongo.database import Database

from buybutton.events import Event
from buybutton.events.examples import sample_events
from buybutton.kafka.producer import EventPublisher
from vault_service.config import Settings

KEY_V1 = base64.b64encode(os.urandom(32)).decode()
KEY_V2 = base64.b64encode(os.urandom(32)).decode()
CANARIES = {
    "recipient": "Ada Canary-Lovelace",
    "line1": "12 Canary Analytical Row",
    "email": "ada.canary@example.com",
    "customer": "cus_CanaryAda01",
    "payment_method": "pm_CanaryVisa01",
}


def full_profile(canary_suffix: str = "", *, share_email: bool = False) -> dict[str, Any]:
    return {
        "shipping_addresses": [
            {
                "recipient": CANARIES["recipient"] + canary_suffix,
                "line1": CANARIES["line1"] + canary_suffix,
                "city": "London",
                "postal_code": "N1 9GU",
                "country": "GB",
                "is_default": True,
            },
            {
                "recipient": "Ada at work",
                "line1": "1 Engine Lane",
                "city": "London",
                "postal_code": "EC1A 1BB",
                "country": "GB",
            },
        ],
        "contact_email": CANARIES["email"].replace("@", canary_suffix + "@"),
        "stripe_customer_id": CANARIES["customer"] + canary_suffix.replace("-", ""),
        "default_payment_method_id": CANARIES["payment_method"] + canary_suffix.replace("-", ""),
        "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
        "consents": {"remember_me": True, "share_email_with_merchant": share_email},
    }


def buyer_profile(canary_suffix: str = "", *, share_email: bool = False) -> dict[str, Any]:
    """What a buyer sends about themself: ``full_profile`` without the payment references."""
    profile = full_profile(canary_suffix, share_email=share_email)
    for name in ("stripe_customer_id", "default_payment_method_id", "card"):
        del profile[name]
    return profile


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def dump_everything(db: Database[dict[str, Any]]) -> str:
    """Every document of every collection, as text (binary as latin-1)."""

    def plain(value: Any) -> Any:
        if isinstance(value, bytes | Binary):
            return bytes(value).decode("latin-1")
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return str(value)

    return json.dumps([plain(d) for name in db.list_collection_names() for d in db[name].find({})])


def checkout_event(event_type: type[Event], order_id: str, buyer_id: str = "buyer-ada") -> Event:
    """checkout-service's ``event_type`` for ``order_id`` (of ``buyer_id`` where it names one)."""
    template = next(e for e in sample_events() if isinstance(e, event_type))
    update = {
        "event_id": f"{event_type.__name__}-{order_id}",
        "order_id": order_id,
        "correlation_id": order_id,
    }
    if "buyer_id" in type(template).model_fields:
        update["buyer_id"] = buyer_id
    return template.model_copy(update=update)


def publish(settings: Settings, *events: Event) -> None:
    async def send() -> None:
        publisher = await EventPublisher.start(
            settings.kafka_bootstrap_servers, client_id="test-checkout", topic_prefix=settings.topic_prefix
        )
        try:
            await publisher.publish_all(events)
        finally:
            await publisher.stop()

    asyncio.run(send())


def answer_once(client: TestClient, path: str, headers: dict[str, str], status: int) -> httpx.Response:
    """GET ``path`` until it answers ``status`` (the vault consumes checkout's events meanwhile)."""
    deadline = time.monotonic() + 30
    while (response := client.get(path, headers=headers)).status_code != status:
        assert time.monotonic() < deadline, f"{path} still answers {response.status_code}: {response.text}"
        time.sleep(0.05)
    return response


def wait_for_orders(db: Database[dict[str, Any]], statuses: dict[str, str]) -> None:
    """Until the vault's view of orders holds each order with its status (30 s at most)."""
    deadline = time.monotonic() + 30
    while (
        seen := {o["_id"]: o["status"] for o in db["orders"].find({"_id": {"$in": list(statuses)}})}
    ) != statuses:
        assert time.monotonic() < deadline, f"orders recorded {seen}, not {statuses}"
        time.sleep(0.05)
