"""vault-service over HTTP: who may call what, card data refused, reads audited, events with
no PII published through the outbox, and logs free of planted PII and key material."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from vault_support import (
    CANARIES,
    KEY_V1,
    answer_once,
    bearer,
    buyer_profile,
    checkout_event,
    full_profile,
    publish,
)

from buybutton.auth import TokenIssuer, generate_signing_key
from buybutton.events import BuyClicked, PaymentCaptured
from buybutton.kafka.codec import decode
from buybutton.topics import VAULT
from devstack.testing import read_until
from vault_service.config import Settings

AUD = "vault-service"
ENDPOINTS = [
    ("GET", "/v1/me/profile"),
    ("PUT", "/v1/me/profile"),
    ("PATCH", "/v1/me/profile"),
    ("DELETE", "/v1/me/profile"),
    ("PUT", "/v1/buyers/buyer-ada/profile"),
    ("GET", "/v1/buyers/buyer-ada/payment?order_id=o-1"),
    ("GET", "/v1/buyers/buyer-ada/shipping?order_id=o-1"),
    ("PATCH", "/v1/buyers/buyer-ada/profile"),
    ("PUT", "/v1/buyers/buyer-ada/orders/o-1/shipping"),
    ("GET", "/v1/buyers/buyer-ada/saved-profile"),
]


def buyer(issuer: TokenIssuer, buyer_id: str = "buyer-ada") -> dict[str, str]:
    return bearer(issuer.mint("buyer", buyer_id, audience=AUD, country="US"))


def service(issuer: TokenIssuer, name: str, *scopes: str) -> dict[str, str]:
    return bearer(issuer.mint("service", name, audience=AUD, scopes=scopes))


def checkout(issuer: TokenIssuer) -> dict[str, str]:
    return service(issuer, "checkout-service", "profiles:write", "payment:read")


def relay(issuer: TokenIssuer) -> dict[str, str]:
    return service(issuer, "merchant-relay", "shipping:read")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_missing_forged_expired_or_misaddressed_tokens(
    client: TestClient, issuer: TokenIssuer, method: str, path: str
) -> None:
    stranger = TokenIssuer(generate_signing_key()[0])
    attempts = {
        "missing": {},
        "garbage": bearer("not-a-token"),
        "forged": bearer(stranger.mint("buyer", "buyer-ada", audience=AUD)),
        "expired": bearer(
            issuer.mint("buyer", "buyer-ada", audience=AUD, now=datetime.now(UTC) - timedelta(hours=1))
        ),
        "other audience": bearer(issuer.mint("buyer", "buyer-ada", audience="checkout-service")),
    }
    for label, headers in attempts.items():
        response = client.request(method, path, headers=headers, json=buyer_profile())
        assert response.status_code == 401, (label, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


def test_health_check_is_public(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"service": "vault-service", "status": "ok"}


def test_buyer_saves_views_masked_and_cannot_reach_another_buyer(
    client: TestClient, issuer: TokenIssuer
) -> None:
    assert (
        client.put("/v1/buyers/buyer-ada/profile", headers=checkout(issuer), json=full_profile()).status_code
        == 204
    )
    saved = client.put("/v1/me/profile", headers=buyer(issuer), json=buyer_profile())
    assert saved.status_code == 200, saved.text
    shown = client.get("/v1/me/profile", headers=buyer(issuer)).json()
    assert saved.json() == shown
    assert shown["contact_email"] == "a***@example.com"
    assert shown["shipping_addresses"][0]["line1"] == "12 ***"
    assert shown["card"] == {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}
    assert CANARIES["customer"] not in str(shown) and CANARIES["payment_method"] not in str(shown)

    assert client.get("/v1/me/profile", headers=buyer(issuer, "buyer-bob")).status_code == 404
    for path in ("/v1/buyers/buyer-ada/payment?order_id=o-1", "/v1/buyers/buyer-ada/shipping?order_id=o-1"):
        assert client.get(path, headers=buyer(issuer, "buyer-bob")).status_code == 403
        assert client.get(path, headers=buyer(issuer)).status_code == 403


def pay_for(settings: Settings, *orders: tuple[str, str]) -> None:
    """Publish checkout's PaymentCaptured for each (order, buyer), as checkout-service would."""
    publish(settings, *(checkout_event(PaymentCaptured, order, buyer) for order, buyer in orders))


def shipping_once_paid(client: TestClient, issuer: TokenIssuer, order_id: str) -> dict[str, Any]:
    """Ask for the shipping address until the vault has seen the payment (30 s at most)."""
    path = f"/v1/buyers/buyer-ada/shipping?order_id={order_id}"
    return answer_once(client, path, relay(issuer), 200).json()  # type: ignore[no-any-return]


def test_shipping_is_readable_only_for_an_order_the_buyer_paid(
    client: TestClient, issuer: TokenIssuer, vault_settings: Settings, mongo_client: Any
) -> None:
    client.put("/v1/buyers/buyer-ada/profile", headers=checkout(issuer), json=full_profile())
    unpaid = client.get("/v1/buyers/buyer-ada/shipping?order_id=order-1", headers=relay(issuer))
    assert unpaid.status_code == 403 and "not a paid order" in unpaid.text

    pay_for(vault_settings, ("order-1", "buyer-ada"), ("order-2", "buyer-bob"))
    assert shipping_once_paid(client, issuer, "order-1")["shipping_address"]["city"] == "London"
    orders = mongo_client[vault_settings.database_name]["orders"]
    deadline = time.monotonic() + 30
    while orders.find_one({"_id": "order-2", "status": "paid"}) is None:
        assert time.monotonic() < deadline, "order-2's payment never recorded"
        time.sleep(0.05)
    # bob's paid order does not open ada's address
    assert (
        client.get("/v1/buyers/buyer-ada/shipping?order_id=order-2", headers=relay(issuer)).status_code == 403
    )


def test_services_read_only_what_their_scopes_allow_and_reads_are_audited(
    client: TestClient, issuer: TokenIssuer, vault_settings: Settings, mongo_client: Any
) -> None:
    assert (
        client.put(
            "/v1/buyers/buyer-ada/profile", headers=checkout(issuer), json=full_profile(share_email=False)
        ).status_code
        == 204
    )
    publish(vault_settings, checkout_event(BuyClicked, "order-7"))
    payment = answer_once(client, "/v1/buyers/buyer-ada/payment?order_id=order-7", checkout(issuer), 200)
    assert payment.json()["stripe_customer_id"] == CANARIES["customer"]
    assert payment.json()["default_payment_method_id"] == CANARIES["payment_method"]

    assert (
        client.get("/v1/buyers/buyer-ada/payment?order_id=order-7", headers=relay(issuer)).status_code == 403
    )
    assert (
        client.put("/v1/buyers/buyer-ada/profile", headers=relay(issuer), json=full_profile()).status_code
        == 403
    )
    pay_for(vault_settings, ("order-7", "buyer-ada"), ("order-8", "buyer-ada"), ("order-9", "buyer-bob"))
    shipping = shipping_once_paid(client, issuer, "order-7")
    assert shipping["shipping_address"]["recipient"] == CANARIES["recipient"]
    assert shipping["contact_email"] is None, "no email without the buyer's consent"

    client.put("/v1/buyers/buyer-ada/profile", headers=checkout(issuer), json=full_profile(share_email=True))
    shipping = shipping_once_paid(client, issuer, "order-8")
    assert shipping["contact_email"] == CANARIES["email"]
    assert client.get("/v1/buyers/buyer-ada/shipping", headers=relay(issuer)).status_code == 422

    with sqlite3.connect(vault_settings.keystore_path) as keystore:
        keys_in_keystore = keystore.execute("SELECT count(*) FROM data_keys").fetchone()[0]
    assert keys_in_keystore == 1, "the data key lives in the key store"
    assert "data_keys" not in mongo_client[vault_settings.database_name].list_collection_names()

    audit = list(mongo_client[vault_settings.database_name]["audit"].find({}, {"_id": 0, "at": 0}))
    assert {
        "actor": "service:checkout-service",
        "buyer_id": "buyer-ada",
        "purpose": "charge an order",
        "order_id": "order-7",
        "fields": ["stripe_customer_id", "default_payment_method_id", "card"],
    } in audit
    assert {
        "actor": "service:merchant-relay",
        "buyer_id": "buyer-ada",
        "purpose": "ship an order",
        "order_id": "order-8",
        "fields": ["shipping_addresses", "contact_email"],
    } in audit


CARD_SHAPED = ["4242424242424242", "4000 0566 5566 5556", "5555-5555-5555-4444", "378282246310005"]


@pytest.mark.parametrize("card", CARD_SHAPED)
@pytest.mark.parametrize("where", ["line1", "email", "extra_field", "cvc"])
def test_card_data_is_refused_anywhere_and_nothing_is_stored(
    client: TestClient, issuer: TokenIssuer, capsys: pytest.CaptureFixture[str], card: str, where: str
) -> None:
    body = buyer_profile()
    if where == "line1":
        body["shipping_addresses"][0]["line1"] = f"Flat {card}"
    elif where == "email":
        body["contact_email"] = f"{card.replace(' ', '').replace('-', '')}@example.com"
    elif where == "extra_field":
        body["shipping_addresses"][0]["number"] = card
    else:
        body["cvc"] = "123"
    response = client.put("/v1/me/profile", headers=buyer(issuer), json=body)
    assert response.status_code == 422
    assert card not in response.text and card.replace(" ", "") not in response.text
    assert "card data is never accepted" in response.text
    assert client.get("/v1/me/profile", headers=buyer(issuer)).status_code == 404
    assert card not in capsys.readouterr().out


def test_outbox_publishes_saved_and_erased_events_without_pii(
    client: TestClient, issuer: TokenIssuer, vault_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    client.put("/v1/me/profile", headers=buyer(issuer), json=buyer_profile())
    assert client.delete("/v1/me/profile", headers=buyer(issuer)).status_code == 204
    assert client.delete("/v1/me/profile", headers=buyer(issuer)).status_code == 204
    assert client.get("/v1/me/profile", headers=buyer(issuer)).status_code == 404

    topic = VAULT.named(vault_settings.topic_prefix)
    records = asyncio.run(read_until(vault_settings.kafka_bootstrap_servers, topic, lambda rs: len(rs) >= 2))
    events = [decode(r.value, r.headers) for r in records]
    assert [e.event_type for e in events] == ["BuyerProfileSaved", "BuyerDataErased"]
    assert all(e.key == "buyer-ada" for e in events)
    raw = b"".join(r.value or b"" for r in records).decode()
    for canary in CANARIES.values():
        assert canary not in raw

    logs = capsys.readouterr().out
    for secret in [*CANARIES.values(), KEY_V1]:
        assert secret not in logs
