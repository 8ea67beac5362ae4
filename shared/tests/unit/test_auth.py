"""Tokens verify only with the right key, issuer, audience and time; require() turns the wrong
kind or a missing scope into 403 and a missing or bad token into 401."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from buybutton.auth import InvalidToken, Principal, TokenIssuer, TokenVerifier, generate_signing_key, require

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
