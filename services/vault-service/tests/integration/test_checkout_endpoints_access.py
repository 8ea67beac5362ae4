"""Who may call checkout's purchase endpoints (PATCH a profile, PUT one order's address, GET the
saved-profile hint): a service token with the endpoint's scope; a buyer token, or a service
token without the scope, gets 403 and a missing token 401, and nothing is written. Card data in
any part of their bodies answers 422 naming where, never what, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from vault_support import bearer

from buybutton.auth import TokenIssuer

AUD = "vault-service"
ADDRESS = {"recipient": "Ada Lovelace", "line1": "12 Analytical Row", "city": "London",
           "postal_code": "N1 9GU", "country": "GB"}  # fmt: skip
CALLS: dict[str, tuple[str, str, dict[str, Any] | None, str]] = {
    "patch profile": (
        "PATCH",
        "/v1/buyers/buyer-ada/profile",
        {"shipping_address": ADDRESS},
        "profiles:write",
    ),
    "order address": (
        "PUT",
        "/v1/buyers/buyer-ada/orders/order-1/shipping",
        {"shipping_address": ADDRESS},
        "profiles:write",
    ),
    "saved-profile hint": ("GET", "/v1/buyers/buyer-ada/saved-profile", None, "profiles:hint"),
}
ALL_SCOPES = ["profiles:write", "payment:read", "shipping:read", "profiles:hint"]


def written(client: TestClient) -> dict[str, int]:
    vault = client.app.state.vault  # type: ignore[attr-defined]
    return {
        "profiles": vault.profiles.count_documents({}),
        "order addresses": vault.order_addresses.count_documents({}),
    }


@pytest.mark.parametrize("call", CALLS)
def test_only_a_service_with_the_scope_gets_in(client: TestClient, issuer: TokenIssuer, call: str) -> None:
    method, path, body, scope = CALLS[call]
    callers = {
        "missing token": {},
        "buyer token, own data": bearer(issuer.mint("buyer", "buyer-ada", audience=AUD, country="US")),
        "service without the scope": bearer(
            issuer.mint("service", "merchant-relay", audience=AUD, scopes=set(ALL_SCOPES) - {scope})
        ),
    }
    answers = {
        label: client.request(method, path, headers=headers, json=body).status_code
        for label, headers in callers.items()
    }
    print(f"{call}: {answers}")
    assert answers == {"missing token": 401, "buyer token, own data": 403, "service without the scope": 403}
    assert written(client) == {"profiles": 0, "order addresses": 0}
    allowed = bearer(issuer.mint("service", "checkout-service", audience=AUD, scopes=[scope]))
    assert client.request(method, path, headers=allowed, json=body).status_code in (204, 404)


CARD = "4242 4242 4242 4242"
WHERE_CARDS_GO: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "patch: address line1": (
        "PATCH",
        "/v1/buyers/buyer-ada/profile",
        {"shipping_address": {**ADDRESS, "line1": f"Flat {CARD}"}},
        "shipping_address.line1",
    ),
    "patch: recipient": (
        "PATCH",
        "/v1/buyers/buyer-ada/profile",
        {"shipping_address": {**ADDRESS, "recipient": CARD}},
        "shipping_address.recipient",
    ),
    "patch: contact email": (
        "PATCH",
        "/v1/buyers/buyer-ada/profile",
        {"contact_email": f"{CARD.replace(' ', '')}@example.com"},
        "contact_email",
    ),
    "patch: customer id": (
        "PATCH",
        "/v1/buyers/buyer-ada/profile",
        {"stripe_customer_id": f"cus_{CARD.replace(' ', '')}"},
        "stripe_customer_id",
    ),
    "patch: a field named like a card number": (
        "PATCH",
        "/v1/buyers/buyer-ada/profile",
        {"card": {"brand": "visa", "last4": "4242", "exp_month": 1, "exp_year": 2031, "number": "1"}},
        "card.number",
    ),
    "order address: postal code": (
        "PUT",
        "/v1/buyers/buyer-ada/orders/order-1/shipping",
        {"shipping_address": {**ADDRESS, "postal_code": CARD.replace(" ", "")[:16]}},
        "shipping_address.postal_code",
    ),
    "order address: order id in the path": (
        "PUT",
        f"/v1/buyers/buyer-ada/orders/{CARD.replace(' ', '')}/shipping",
        {"shipping_address": ADDRESS},
        "order_id",
    ),
}


@pytest.mark.parametrize("place", WHERE_CARDS_GO)
def test_card_data_is_refused_naming_where_never_what(
    client: TestClient, issuer: TokenIssuer, capsys: pytest.CaptureFixture[str], place: str
) -> None:
    method, path, body, where = WHERE_CARDS_GO[place]
    checkout = bearer(issuer.mint("service", "checkout-service", audience=AUD, scopes=["profiles:write"]))
    response = client.request(method, path, headers=checkout, json=body)
    digits = CARD.replace(" ", "")
    logs = capsys.readouterr().out
    print(f"{place}: {response.status_code}, names {where!r}: {where in response.text}")
    assert response.status_code == 422
    assert where in response.text
    assert digits not in response.text and CARD not in response.text
    assert digits[:12] not in response.text
    assert written(client) == {"profiles": 0, "order addresses": 0}
    assert digits not in logs
