"""What a buyer may change about their own profile: addresses, contact email and consents, never
a payment reference. A payment field in a buyer's PUT or PATCH is refused with 422 naming it,
and nothing changes; a buyer's PUT replaces their part and keeps checkout's payment references
(one-tap keeps working); a PATCH changes only what it names. Fields a write does not set keep
their ciphertext byte for byte: nothing is decrypted and sealed again to write."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from vault_support import CANARIES, bearer, buyer_profile, full_profile

from buybutton.auth import Principal, TokenIssuer
from vault_service.profile import ENCRYPTED_FIELDS
from vault_service.vault import Vault

AUD = "vault-service"
ADA = Principal("buyer", "buyer-ada")
PAYMENT_REFERENCES = {
    "stripe_customer_id": "cus_MalloryPlanted01",
    "default_payment_method_id": "pm_MalloryPlanted01",
    "card": {"brand": "visa", "last4": "0005", "exp_month": 1, "exp_year": 2031},
}
NEW_HOME = {
    "recipient": "Ada Lovelace",
    "line1": "St James's Square 10",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
    "is_default": True,
}


def buyer(issuer: TokenIssuer) -> dict[str, str]:
    return bearer(issuer.mint("buyer", "buyer-ada", audience=AUD, country="US"))


def checkout(issuer: TokenIssuer) -> dict[str, str]:
    return bearer(issuer.mint("service", "checkout-service", audience=AUD, scopes=["profiles:write"]))


def vault_of(client: TestClient) -> Vault:
    return client.app.state.vault  # type: ignore[attr-defined,no-any-return]


def stored_values(client: TestClient) -> dict[str, Any]:
    stored = vault_of(client).read("buyer-ada", ENCRYPTED_FIELDS, actor=ADA, purpose="test")
    assert stored is not None
    return stored.values | {"consents": stored.consents.model_dump()}


def ciphertexts(client: TestClient) -> dict[str, bytes]:
    document = vault_of(client).profiles.find_one({"_id": "buyer-ada"})
    assert document is not None
    return {name: bytes(sealed) for name, sealed in document["fields"].items()}


@pytest.fixture
def saved_by_checkout(client: TestClient, issuer: TokenIssuer) -> dict[str, Any]:
    response = client.put("/v1/buyers/buyer-ada/profile", headers=checkout(issuer), json=full_profile())
    assert response.status_code == 204, response.text
    return stored_values(client)


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("field", list(PAYMENT_REFERENCES))
def test_a_payment_field_from_the_buyer_is_refused_by_name_and_nothing_changes(
    client: TestClient, issuer: TokenIssuer, saved_by_checkout: dict[str, Any], method: str, field: str
) -> None:
    before = ciphertexts(client)
    for value in (PAYMENT_REFERENCES[field], None):
        response = client.request(
            method, "/v1/me/profile", headers=buyer(issuer), json={**buyer_profile(), field: value}
        )
        print(f"{method} with {field}={'null' if value is None else 'a value'}: {response.status_code}")
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", field]
        assert "set only by checkout-service" in response.json()["detail"][0]["msg"]
        assert "Mallory" not in response.text
    assert ciphertexts(client) == before
    assert stored_values(client) == saved_by_checkout


def test_an_address_edit_by_the_buyer_keeps_the_payment_method(
    client: TestClient, issuer: TokenIssuer, saved_by_checkout: dict[str, Any]
) -> None:
    before = ciphertexts(client)
    edited = {**buyer_profile(), "shipping_addresses": [NEW_HOME]}
    response = client.put("/v1/me/profile", headers=buyer(issuer), json=edited)
    assert response.status_code == 200, response.text
    assert response.json()["has_payment_method"] is True
    assert response.json()["card"] == saved_by_checkout["card"]

    after = stored_values(client)
    assert after["shipping_addresses"] == [NEW_HOME | {"line2": "", "region": ""}]
    for name in ("stripe_customer_id", "default_payment_method_id", "card"):
        assert after[name] == saved_by_checkout[name], name
    assert after["default_payment_method_id"] == CANARIES["payment_method"]
    stored = ciphertexts(client)
    unchanged = {name for name in before if stored.get(name) == before[name]}
    print(f"fields sealed again: {sorted(set(stored) - unchanged)}; kept byte for byte: {sorted(unchanged)}")
    assert unchanged == {"stripe_customer_id", "default_payment_method_id", "card"}


def test_a_buyers_put_replaces_only_the_buyers_part(
    client: TestClient, issuer: TokenIssuer, saved_by_checkout: dict[str, Any]
) -> None:
    response = client.put("/v1/me/profile", headers=buyer(issuer), json={"shipping_addresses": [NEW_HOME]})
    assert response.status_code == 200, response.text
    after = stored_values(client)
    assert "contact_email" not in after, "left out of a PUT: removed"
    assert after["consents"] == {"remember_me": True, "share_email_with_merchant": False}
    assert after["stripe_customer_id"] == saved_by_checkout["stripe_customer_id"]


def test_a_patch_changes_only_what_it_names(
    client: TestClient, issuer: TokenIssuer, saved_by_checkout: dict[str, Any]
) -> None:
    def patch(body: dict[str, Any]) -> dict[str, Any]:
        response = client.patch("/v1/me/profile", headers=buyer(issuer), json=body)
        assert response.status_code == 200, response.text
        return stored_values(client)

    before = ciphertexts(client)
    after = patch({"contact_email": "ada@analytical.example"})
    assert after == saved_by_checkout | {"contact_email": "ada@analytical.example"}
    assert {n: c for n, c in ciphertexts(client).items() if n != "contact_email"} == {
        n: c for n, c in before.items() if n != "contact_email"
    }

    after = patch({"consents": {"share_email_with_merchant": True}})
    assert after["consents"] == {"remember_me": True, "share_email_with_merchant": True}
    assert after["shipping_addresses"] == saved_by_checkout["shipping_addresses"]

    after = patch({"contact_email": None})
    assert (
        "contact_email" not in after
        and after["stripe_customer_id"] == saved_by_checkout["stripe_customer_id"]
    )
    assert patch({}) == after


def test_a_buyer_without_a_profile_can_start_one_with_a_patch(
    client: TestClient, issuer: TokenIssuer
) -> None:
    response = client.patch("/v1/me/profile", headers=buyer(issuer), json={"shipping_addresses": [NEW_HOME]})
    assert response.status_code == 200, response.text
    assert response.json()["has_payment_method"] is False
    assert stored_values(client)["shipping_addresses"][0]["line1"] == NEW_HOME["line1"]
