"""Tokens verify only with the right key, issuer, audience and time, a subject that is a principal
id, no card data in any claim and a lifetime under the cap; require() turns the wrong kind or a
missing scope into 403 and a missing or bad token into 401."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from buybutton.auth import (
    InvalidToken,
    Principal,
    TokenIssuer,
    TokenVerifier,
    generate_signing_key,
    is_principal_id,
    require,
)

PRIVATE, PUBLIC = generate_signing_key()
ISSUER = TokenIssuer(PRIVATE)


def verifier(audience: str = "vault-service") -> TokenVerifier:
    return TokenVerifier(PUBLIC, audience=audience)


def test_a_minted_token_verifies_into_its_principal() -> None:
    token = ISSUER.mint(
        "service", "checkout-service", audience="vault-service", scopes=["payment:read", "profiles:write"]
    )
    assert verifier().verify(token) == Principal(
        "service", "checkout-service", frozenset({"payment:read", "profiles:write"})
    )
    buyer = ISSUER.mint("buyer", "buyer-ada", audience="vault-service", country="US")
    assert verifier().verify(buyer).country == "US"


@pytest.mark.parametrize(
    "token",
    [
        ISSUER.mint("buyer", "buyer-ada", audience="checkout-service"),
        ISSUER.mint(
            "buyer", "buyer-ada", audience="vault-service", now=datetime.now(UTC) - timedelta(hours=2)
        ),
        TokenIssuer(generate_signing_key()[0]).mint("buyer", "buyer-ada", audience="vault-service"),
        TokenIssuer(PRIVATE, issuer="someone-else").mint("buyer", "buyer-ada", audience="vault-service"),
        jwt.encode(
            {"sub": "buyer-ada", "aud": "vault-service", "kind": "buyer"}, "secret", algorithm="HS256"
        ),
        jwt.encode(
            {
                "sub": "x",
                "aud": "vault-service",
                "iss": "buybutton-identity",
                "kind": "root",
                "iat": datetime.now(UTC),
                "exp": datetime.now(UTC) + timedelta(minutes=5),
            },
            PRIVATE,
            algorithm="EdDSA",
        ),
        "not.a.token",
    ],
    ids=[
        "other audience",
        "expired",
        "other key",
        "other issuer",
        "hs256 none of ours",
        "unknown kind",
        "garbage",
    ],
)
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        verifier().verify(token)


def test_require_answers_401_then_403_for_kind_and_scope() -> None:
    app = FastAPI()
    app.state.token_verifier = verifier()

    @app.get("/payment")
    def payment(caller: Principal = Depends(require("service", scopes=["payment:read"]))) -> str:  # noqa: B008
        return caller.subject

    client = TestClient(app)

    def call(token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.get("/payment", headers=headers).status_code

    assert call(None) == 401
    assert call("garbage") == 401
    assert call(ISSUER.mint("buyer", "buyer-ada", audience="vault-service")) == 403
    assert (
        call(ISSUER.mint("service", "merchant-relay", audience="vault-service", scopes=["shipping:read"]))
        == 403
    )
    assert (
        call(ISSUER.mint("service", "checkout-service", audience="vault-service", scopes=["payment:read"]))
        == 200
    )


def signed(claims: dict[str, Any]) -> str:
    """A token with exactly these claims (plus the usual ones), signed with the right key."""
    now = datetime.now(UTC)
    usual = {"iss": "buybutton-identity", "aud": "vault-service", "kind": "buyer", "iat": now, "nbf": now}
    return jwt.encode({**usual, "exp": now + timedelta(minutes=5), **claims}, PRIVATE, algorithm="EdDSA")


NOT_PRINCIPAL_IDS = {
    "empty": "",
    "NUL": "buyer\x00ada",
    "space": "buyer ada",
    "slash": "buyer/ada",
    "non-ASCII": "buyer-adà",
    "129 characters": "b" * 129,
    "card number": "4242424242424242",
    "card number with dots": "4242.4242.4242.4242",
    "card number among digits": "buyer-5-4242424242424242",
}


@pytest.mark.parametrize("subject", NOT_PRINCIPAL_IDS.values(), ids=list(NOT_PRINCIPAL_IDS))
def test_a_subject_that_is_no_principal_id_is_refused(subject: str) -> None:
    assert not is_principal_id(subject)
    with pytest.raises(InvalidToken, match="principal id"):
        verifier().verify(signed({"sub": subject}))


@pytest.mark.parametrize(
    "subject", ["buyer-ada", "merchant:puddle.and_co", "b" * 128, "order-2024-05-17-1042"]
)
def test_plain_ids_are_principal_ids(subject: str) -> None:
    assert is_principal_id(subject)
    assert verifier().verify(signed({"sub": subject})).subject == subject


@pytest.mark.parametrize(
    "claims",
    [{"country": "4242424242424242"}, {"jti": "5555 5555 5555 4444"}, {"4242424242424242": "x"}],
    ids=["country", "jti", "a claim's name"],
)
def test_card_data_in_any_claim_is_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken, match="card data"):
        verifier().verify(signed({"sub": "buyer-ada", **claims}))


def test_token_lifetime_is_capped() -> None:
    day = TokenVerifier(PUBLIC, audience="vault-service", max_lifetime_s=24 * 3600)
    now = datetime.now(UTC)
    assert day.verify(signed({"sub": "buyer-ada", "exp": now + timedelta(hours=23)})).subject == "buyer-ada"
    for exp in (now + timedelta(hours=25), 10**20, 1e20):
        with pytest.raises(InvalidToken, match="lives longer"):
            day.verify(signed({"sub": "buyer-ada", "exp": exp}))
    hour = TokenVerifier(PUBLIC, audience="vault-service", max_lifetime_s=3600)
    with pytest.raises(InvalidToken):
        hour.verify(signed({"sub": "buyer-ada", "exp": now + timedelta(hours=2)}))
