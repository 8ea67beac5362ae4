"""Who may call rollout-service: every endpoint refuses missing, forged, expired or
misaddressed tokens with 401, and other kinds of caller or missing scopes with 403; the health
check is public."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from rollout_support import AUDIENCE, READ, WRITE, Mint

from buybutton.auth import TokenIssuer, generate_signing_key

RULE = "/v1/rules/buy-button"
ENDPOINTS = [
    ("GET", RULE, READ),
    ("PUT", RULE, WRITE),
    ("PUT", f"{RULE}/percentage", WRITE),
    ("PUT", f"{RULE}/countries", WRITE),
    ("PUT", f"{RULE}/kill-switch", WRITE),
    ("POST", f"{RULE}/sellers", WRITE),
    ("POST", f"{RULE}/overrides", WRITE),
    ("GET", f"{RULE}/changes", READ),
    ("GET", "/v1/explain?user_id=u-1&seller_id=s-1&country=US", READ),
]


@pytest.mark.parametrize(("method", "path", "_scope"), ENDPOINTS)
def test_every_endpoint_refuses_missing_forged_expired_or_misaddressed_tokens(
    client: TestClient, issuer: TokenIssuer, method: str, path: str, _scope: str
) -> None:
    stranger = TokenIssuer(generate_signing_key()[0])
    tokens = {
        "missing": None,
        "garbage": "not-a-token",
        "forged": stranger.mint("admin", "ada-admin", audience=AUDIENCE, scopes=[READ, WRITE]),
        "expired": issuer.mint(
            "admin",
            "ada-admin",
            audience=AUDIENCE,
            scopes=[READ, WRITE],
            now=datetime.now(UTC) - timedelta(hours=1),
        ),
        "other audience": issuer.mint("admin", "ada-admin", audience="tweet-service", scopes=[READ, WRITE]),
    }
    for label, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.request(method, path, headers=headers, json={"percentage_bps": 5})
        assert response.status_code == 401, (label, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_every_endpoint_forbids_other_kinds_and_missing_scopes(
    client: TestClient, admin: Mint, method: str, path: str, scope: str
) -> None:
    other_scope = READ if scope == WRITE else WRITE
    callers = {
        "buyer": admin(READ, WRITE, kind="buyer"),
        "merchant": admin(READ, WRITE, kind="merchant"),
        "service": admin(READ, WRITE, kind="service", subject="tweet-service"),
        "admin without scopes": admin(),
        f"admin with {other_scope} only": admin(other_scope),
    }
    for label, headers in callers.items():
        response = client.request(method, path, headers=headers, json={"percentage_bps": 5})
        assert response.status_code == 403, (label, response.text)


def test_health_check_is_public(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"service": "rollout-service", "status": "ok"}
