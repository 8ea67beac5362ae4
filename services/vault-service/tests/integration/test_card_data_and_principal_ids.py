"""The vault refuses, before it writes anything: a card number anywhere a caller can put one
(address lines, recipient, city, region, postal code, contact email, a mapping key, the buyer id
in the path, the order id in the query, a token's subject), generated as a property test; a
buyer token whose subject is no principal id (empty, NUL, a space, "/", non-ASCII, over 128
characters), with 401 where it used to be a 500 after the data key was written; and a token that
would live longer than the cap. Nothing reaches the database, the key store or the topic."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import jwt
import pytest
from card_samples import Place, generated_cards_refused
from fastapi.testclient import TestClient
from vault_support import bearer, buyer_profile, full_profile

from buybutton.auth import TokenIssuer
from buybutton.topics import VAULT
from devstack.testing import read_all
from vault_service.config import Settings

AUD = "vault-service"


def buyer(issuer: TokenIssuer, buyer_id: str = "buyer-ada") -> dict[str, str]:
    return bearer(issuer.mint("buyer", buyer_id, audience=AUD, country="US"))


def checkout(issuer: TokenIssuer, name: str = "checkout-service") -> dict[str, str]:
    return bearer(issuer.mint("service", name, audience=AUD, scopes=["profiles:write", "payment:read"]))


def written(settings: Settings, mongo_client: Any) -> dict[str, int]:
    """Documents in every collection of the vault's database and key store, and topic records."""
    database = mongo_client[settings.database_name]
    counts = {name: database[name].count_documents({}) for name in database.list_collection_names()}
    if settings.keystore_path.exists():
        with sqlite3.connect(settings.keystore_path) as keystore:
            counts["key store"] = keystore.execute("SELECT count(*) FROM data_keys").fetchone()[0]
    records = asyncio.run(read_all(settings.kafka_bootstrap_servers, VAULT.named(settings.topic_prefix)))
    return {**{k: v for k, v in counts.items() if v}, **({"topic": len(records)} if records else {})}


def with_address(field: str, value: str) -> dict[str, Any]:
    profile = buyer_profile()
    profile["shipping_addresses"][0][field] = value
    return profile


def places(client: TestClient, issuer: TokenIssuer) -> dict[str, Place]:
    def save(profile: dict[str, Any]) -> Any:
        return client.put("/v1/me/profile", headers=buyer(issuer), json=profile)

    def address(field: str) -> Place:
        return (lambda t: save(with_address(field, t)), 422)

    return {
        **{
            field: address(field)
            for field in ("recipient", "line1", "line2", "city", "region", "postal_code")
        },
        "contact email": (lambda t: save({**buyer_profile(), "contact_email": f"{t}@example.com"}), 422),
        "a mapping key": (lambda t: save({**buyer_profile(), "consents": {t: True}}), 422),
        "buyer id, service save (path)": (
            lambda t: client.put(
                f"/v1/buyers/{quote(t, safe='')}/profile", headers=checkout(issuer), json=full_profile()
            ),
            422,
        ),
        "buyer id, payment read (path)": (
            lambda t: client.get(
                f"/v1/buyers/{quote(t, safe='')}/payment",
                headers=checkout(issuer),
                params={"order_id": "o-1"},
            ),
            422,
        ),
        "order id (query)": (
            lambda t: client.get(
                "/v1/buyers/buyer-ada/payment", headers=checkout(issuer), params={"order_id": t}
            ),
            422,
        ),
        "buyer token subject": (
            lambda t: client.put("/v1/me/profile", headers=buyer(issuer, t), json=buyer_profile()),
            401,
        ),
        "service token subject": (
            lambda t: client.put(
                "/v1/buyers/buyer-ada/profile", headers=checkout(issuer, t), json=full_profile()
            ),
            401,
        ),
    }


def test_card_numbers_are_refused_everywhere_before_anything_is_written(
    client: TestClient,
    issuer: TokenIssuer,
    vault_settings: Settings,
    mongo_client: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    where = places(client, issuer)
    tried = generated_cards_refused(where, service="vault-service", examples=40, capsys=capsys)
    assert tried["accepted"] == 0
    assert written(vault_settings, mongo_client) == {}


NOT_PRINCIPAL_IDS = {
    "empty": "",
    "NUL": "buyer\x00ada",
    "space": "buyer ada",
    "slash": "buyer/ada",
    "non-ASCII": "buyer-adà",
    "129 characters": "b" * 129,
}


@pytest.mark.parametrize("subject", NOT_PRINCIPAL_IDS.values(), ids=list(NOT_PRINCIPAL_IDS))
def test_a_buyer_whose_subject_is_no_principal_id_gets_401_and_nothing_is_written(
    client: TestClient, issuer: TokenIssuer, vault_settings: Settings, mongo_client: Any, subject: str
) -> None:
    headers = buyer(issuer, subject)
    saved = client.put("/v1/me/profile", headers=headers, json=buyer_profile())
    erased = client.delete("/v1/me/profile", headers=headers)
    print(f"sub {subject[:20]!r}: PUT {saved.status_code}, DELETE {erased.status_code}")
    assert (saved.status_code, erased.status_code) == (401, 401), (saved.text, erased.text)
    assert saved.headers["WWW-Authenticate"] == "Bearer"
    assert written(vault_settings, mongo_client) == {}


def test_a_token_living_longer_than_the_cap_gets_401(
    client: TestClient, signing_key: tuple[str, str], vault_settings: Settings, mongo_client: Any
) -> None:
    now = datetime.now(UTC)
    claims = {"iss": "buybutton-identity", "aud": AUD, "sub": "buyer-ada", "kind": "buyer", "iat": now}
    for exp in (1e20, now + timedelta(days=2)):
        token = jwt.encode({**claims, "exp": exp}, signing_key[0], algorithm="EdDSA")
        response = client.put("/v1/me/profile", headers=bearer(token), json=buyer_profile())
        assert response.status_code == 401, response.text
    day = jwt.encode({**claims, "exp": now + timedelta(hours=23)}, signing_key[0], algorithm="EdDSA")
    assert client.put("/v1/me/profile", headers=bearer(day), json=buyer_profile()).status_code == 200
    assert vault_settings.auth_max_token_lifetime_s == 24 * 3600
