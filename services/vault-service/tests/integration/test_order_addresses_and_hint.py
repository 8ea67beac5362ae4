"""One order's own shipping address (PUT .../orders/{order_id}/shipping, profiles:write): stored
idempotently, replaced while the order is open, refused (409) once it is paid, never shown in the
buyer's profile, read by merchant-relay for the paid order in place of the profile's default, and
erased with the buyer (a canary is in no readable form afterwards). The saved-profile hint
(profiles:hint) answers only masked data, audited, and 404 without a remembered profile."""

from __future__ import annotations

import json
from typing import Any

from bson import Binary
from fastapi.testclient import TestClient
from vault_support import answer_once, bearer, checkout_event, publish, wait_for_orders

from buybutton.auth import TokenIssuer
from buybutton.events import BuyClicked, PaymentCaptured
from vault_service.config import Settings
from vault_service.fields import DecryptionFailed, unseal
from vault_service.vault import Vault

AUD = "vault-service"
CANARY = "Canary Order-Only Lane 7"
HOME = {"recipient": "Ada Lovelace", "line1": "12 Analytical Row", "line2": "Flat 3", "city": "London",
        "postal_code": "N1 9GU", "country": "GB"}  # fmt: skip
GIFT = {"recipient": "Charles Babbage", "line1": CANARY, "city": "Cambridge",
        "postal_code": "CB2 1TN", "country": "GB"}  # fmt: skip
FIRST_PURCHASE = {
    "stripe_customer_id": "cus_AdaFirst01",
    "default_payment_method_id": "pm_AdaVisa01",
    "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
    "shipping_address": HOME,
    "contact_email": "ada@example.com",
}


def service(issuer: TokenIssuer, name: str, *scopes: str) -> dict[str, str]:
    return bearer(issuer.mint("service", name, audience=AUD, scopes=scopes))


def order_shipping(order_id: str, buyer_id: str = "buyer-ada") -> str:
    return f"/v1/buyers/{buyer_id}/orders/{order_id}/shipping"


def test_an_order_address_is_kept_apart_from_the_profile_and_final_once_paid(
    client: TestClient, issuer: TokenIssuer, vault_settings: Settings, mongo_client: Any
) -> None:
    checkout = service(issuer, "checkout-service", "profiles:write")
    relay = service(issuer, "merchant-relay", "shipping:read")
    assert (
        client.patch("/v1/buyers/buyer-ada/profile", headers=checkout, json=FIRST_PURCHASE).status_code == 204
    )
    answers = [
        client.put(order_shipping("order-gift"), headers=checkout, json={"shipping_address": HOME}),
        client.put(order_shipping("order-gift"), headers=checkout, json={"shipping_address": GIFT}),
        client.put(order_shipping("order-gift"), headers=checkout, json={"shipping_address": GIFT}),
    ]
    print("stores:", [a.status_code for a in answers])
    assert [a.status_code for a in answers] == [204, 204, 204], answers[-1].text
    buyer = bearer(issuer.mint("buyer", "buyer-ada", audience=AUD, country="US"))
    assert CANARY[:8] not in client.get("/v1/me/profile", headers=buyer).text

    publish(
        vault_settings,
        checkout_event(PaymentCaptured, "order-gift"),
        checkout_event(PaymentCaptured, "order-home"),
        checkout_event(BuyClicked, "order-bob", "buyer-bob"),
    )
    gift = answer_once(client, "/v1/buyers/buyer-ada/shipping?order_id=order-gift", relay, 200).json()
    assert gift == {"shipping_address": {**GIFT, "line2": "", "region": ""}, "contact_email": None}
    home = answer_once(client, "/v1/buyers/buyer-ada/shipping?order_id=order-home", relay, 200).json()
    assert home["shipping_address"] == HOME | {"region": ""}, "no order address: the profile's default"

    wait_for_orders(mongo_client[vault_settings.database_name], {"order-bob": "open"})
    refused = {
        "paid, same address": client.put(
            order_shipping("order-gift"), headers=checkout, json={"shipping_address": GIFT}
        ),
        "paid, other address": client.put(
            order_shipping("order-gift"), headers=checkout, json={"shipping_address": HOME}
        ),
        "bob's order": client.put(
            order_shipping("order-bob"), headers=checkout, json={"shipping_address": HOME}
        ),
    }
    print("refused:", {label: r.status_code for label, r in refused.items()})
    assert {label: r.status_code for label, r in refused.items()} == {
        "paid, same address": 409,
        "paid, other address": 409,
        "bob's order": 403,
    }
    audit = mongo_client[vault_settings.database_name]["audit"]
    assert audit.count_documents({"order_id": "order-gift", "fields": ["order_shipping_address"]}) == 1


def test_a_buyer_not_remembered_still_gets_the_order_shipped(
    client: TestClient, issuer: TokenIssuer, vault_settings: Settings
) -> None:
    checkout = service(issuer, "checkout-service", "profiles:write", "profiles:hint")
    assert (
        client.put(
            order_shipping("order-once", "buyer-grace"), headers=checkout, json={"shipping_address": GIFT}
        ).status_code
        == 204
    )
    grace = bearer(issuer.mint("buyer", "buyer-grace", audience=AUD, country="US"))
    assert client.get("/v1/me/profile", headers=grace).status_code == 404, "no profile was made"
    assert client.get("/v1/buyers/buyer-grace/saved-profile", headers=checkout).status_code == 404
    publish(vault_settings, checkout_event(PaymentCaptured, "order-once", "buyer-grace"))
    relay = service(issuer, "merchant-relay", "shipping:read")
    shipped = answer_once(client, "/v1/buyers/buyer-grace/shipping?order_id=order-once", relay, 200).json()
    assert shipped["shipping_address"]["line1"] == CANARY and shipped["contact_email"] is None


def everything(db: Any) -> str:
    return json.dumps([str(d) for name in db.list_collection_names() for d in db[name].find({})])


def every_binary(db: Any) -> list[bytes]:
    found: list[bytes] = []

    def walk(value: Any) -> None:
        if isinstance(value, bytes | Binary):
            found.append(bytes(value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for name in db.list_collection_names():
        for document in db[name].find({}):
            walk(document)
    return found


def opens(data_key: bytes, blob: bytes, *, key_id: str) -> bool:
    for field in [f"order_shipping_address:order-gift-{n}" for n in range(3)] + ["shipping_addresses"]:
        try:
            unseal(data_key, blob, buyer_id="buyer-ada", field=field, key_id=key_id)
        except DecryptionFailed:
            continue
        return True
    return False


def test_erasure_leaves_no_order_address_readable(
    client: TestClient, issuer: TokenIssuer, vault_settings: Settings, mongo_client: Any
) -> None:
    checkout = service(issuer, "checkout-service", "profiles:write")
    client.patch("/v1/buyers/buyer-ada/profile", headers=checkout, json=FIRST_PURCHASE)
    for n in range(3):
        gift = {"shipping_address": {**GIFT, "line1": f"{CANARY} {n}"}}
        assert client.put(order_shipping(f"order-gift-{n}"), headers=checkout, json=gift).status_code == 204
    vault: Vault = client.app.state.vault  # type: ignore[attr-defined]
    db = mongo_client[vault_settings.database_name]
    key = vault.keys.get("buyer-ada")
    assert key is not None
    data_key = vault.unwrap(key)
    sealed_before = [d["sealed"] for d in db["order_addresses"].find({"buyer_id": "buyer-ada"})]
    assert len(sealed_before) == 3
    assert all(opens(data_key, bytes(s), key_id=key.key_id) for s in sealed_before), "found before"
    assert sum(opens(data_key, blob, key_id=key.key_id) for blob in every_binary(db)) == 4

    buyer = bearer(issuer.mint("buyer", "buyer-ada", audience=AUD, country="US"))
    assert client.delete("/v1/me/profile", headers=buyer).status_code == 204
    left = {
        "order address documents": db["order_addresses"].count_documents({}),
        "data keys of the buyer": int(vault.keys.get("buyer-ada") is not None),
        "plaintext canary in the database": int(CANARY in everything(db)),
    }
    # even the destroyed key, had someone kept a copy, would find no ciphertext of it left
    left["ciphertexts in the database the destroyed key opens"] = sum(
        opens(data_key, blob, key_id=key.key_id) for blob in every_binary(db)
    )
    print(f"before erasure: {len(sealed_before)} order addresses holding the canary; after: {left}")
    assert left == dict.fromkeys(left, 0)


def test_the_saved_profile_hint_is_masked_and_only_for_a_remembered_buyer(
    client: TestClient, issuer: TokenIssuer, vault_settings: Settings, mongo_client: Any
) -> None:
    checkout = service(issuer, "checkout-service", "profiles:write", "profiles:hint")
    hint_path = "/v1/buyers/buyer-ada/saved-profile"
    assert client.get(hint_path, headers=checkout).status_code == 404, "no profile yet"
    client.patch("/v1/buyers/buyer-ada/profile", headers=checkout, json=FIRST_PURCHASE)
    hint = client.get(hint_path, headers=checkout)
    assert hint.status_code == 200, hint.text
    assert hint.json() == {
        "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
        "ship_to": {
            "recipient": "Ada Lovelace",
            "city": "London",
            "country": "GB",
            "line1": "12 ***",
            "is_default": True,
        },
        "has_payment_method": True,
    }
    leaked = [
        v
        for v in (
            HOME["line1"],
            "Analytical",
            HOME["postal_code"],
            "N1 9",
            HOME["line2"],
            "ada@",
            "cus_",
            "pm_",
        )
        if v in hint.text
    ]
    print(f"hint: {hint.text}; full values found in it: {leaked}")
    assert leaked == []
    audit = mongo_client[vault_settings.database_name]["audit"]
    assert (
        audit.count_documents(
            {"actor": "service:checkout-service", "purpose": "offer one tap on a Buy answer"}
        )
        == 2
    )

    client.patch("/v1/buyers/buyer-ada/profile", headers=checkout, json={"remember_me": False})
    assert client.get(hint_path, headers=checkout).status_code == 404, "the buyer withdrew remember_me"
