"""Who may call what: every endpoint refuses missing, forged, expired or misaddressed
credentials with 401, the wrong kind of caller with 403, and a merchant acting for another
merchant with 403. API keys are stored hashed, shown once, and die when revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tweet_support import AUD, GALOSH, PUDDLE, admin, api_key, bearer, buyer, raincoat

from buybutton.auth import TokenIssuer, generate_signing_key
from buybutton.events import MerchantProfileChanged
from buybutton.kafka.codec import decode
from buybutton.topics import MERCHANTS
from devstack.testing import read_until

TWEET = "tweet-anything"
BEARER_ENDPOINTS = [
    ("POST", "/v1/merchants"),
    ("PATCH", f"/v1/merchants/{PUDDLE}"),
    ("POST", f"/v1/merchants/{PUDDLE}/api-keys"),
    ("GET", f"/v1/merchants/{PUDDLE}/api-keys"),
    ("DELETE", f"/v1/merchants/{PUDDLE}/api-keys/0123456789abcdef"),
    ("GET", "/v1/timeline"),
    ("GET", f"/v1/tweets/{TWEET}"),
]
MERCHANT_ENDPOINTS = [
    ("GET", "/v1/merchants/{m}"),
    ("POST", "/v1/merchants/{m}/tweets"),
    ("GET", "/v1/merchants/{m}/tweets"),
    ("POST", "/v1/merchants/{m}/tweets/" + TWEET + "/variants/raincoat-m/restock"),
    ("PUT", "/v1/merchants/{m}/tweets/" + TWEET + "/price"),
    ("POST", "/v1/merchants/{m}/tokens"),
]
BODY: dict[str, Any] = {"units": 1, "price": {"amount_minor": 100, "currency": "USD"}}


@pytest.mark.parametrize(("method", "path"), BEARER_ENDPOINTS)
def test_token_endpoints_refuse_missing_forged_expired_or_misaddressed_tokens(
    client: TestClient, issuer: TokenIssuer, method: str, path: str
) -> None:
    stranger = TokenIssuer(generate_signing_key()[0])
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    attempts = {
        "missing": {},
        "garbage": bearer("not-a-token"),
        "forged": bearer(stranger.mint("admin", "admin-grace", audience=AUD, scopes=["merchants:write"])),
        "expired": bearer(issuer.mint("buyer", "buyer-ada", audience=AUD, country="US", now=hour_ago)),
        "other audience": bearer(issuer.mint("buyer", "buyer-ada", audience="vault-service", country="US")),
    }
    for label, headers in attempts.items():
        response = client.request(method, path, headers=headers, json=BODY)
        assert response.status_code == 401, (label, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), BEARER_ENDPOINTS[:5])
def test_admin_endpoints_refuse_buyers_merchant_tokens_and_admins_without_the_scope(
    client: TestClient, issuer: TokenIssuer, method: str, path: str
) -> None:
    for headers in (
        buyer(issuer),
        bearer(issuer.mint("merchant", PUDDLE, audience=AUD)),
        admin(issuer, "rollout:write"),
    ):
        assert client.request(method, path, headers=headers, json=BODY).status_code == 403


@pytest.mark.parametrize(("method", "path"), MERCHANT_ENDPOINTS)
def test_merchant_endpoints_refuse_missing_unknown_or_revoked_keys_and_other_merchants(
    client: TestClient, issuer: TokenIssuer, puddle_key: str, galosh_key: str, method: str, path: str
) -> None:
    mine = path.format(m=PUDDLE)
    revoked_key_id = galosh_key.removeprefix("bbk_").split(".")[0]
    forged = puddle_key[:-4] + ("AAAA" if not puddle_key.endswith("AAAA") else "BBBB")
    for label, headers in {
        "missing": {},
        "not a key": api_key("hunter2"),
        "wrong secret": api_key(forged),
        "admin token instead": admin(issuer),
    }.items():
        response = client.request(method, mine, headers=headers, json=BODY)
        assert response.status_code == 401, (label, response.text)
    other = client.request(method, path.format(m=GALOSH), headers=api_key(puddle_key), json=BODY)
    assert other.status_code == 403, other.text
    assert (
        client.delete(f"/v1/merchants/{GALOSH}/api-keys/{revoked_key_id}", headers=admin(issuer)).status_code
        == 204
    )
    dead = client.request(method, path.format(m=GALOSH), headers=api_key(galosh_key), json=BODY)
    assert dead.status_code == 401, dead.text


async def test_merchant_account_has_fee_and_stripe_account_and_keys_are_stored_hashed(
    client: TestClient,
    issuer: TokenIssuer,
    puddle_key: str,
    mongo_client: Any,
    tweet_settings: Any,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    profile = client.get(f"/v1/merchants/{PUDDLE}", headers=api_key(puddle_key))
    assert profile.status_code == 200, profile.text
    assert profile.json()["fee_bps"] == tweet_settings.default_fee_bps
    assert profile.json()["stripe_account_id"] == "acct_1Puddle"
    changed = client.patch(f"/v1/merchants/{PUDDLE}", headers=admin(issuer), json={"fee_bps": 250})
    assert changed.json()["fee_bps"] == 250
    secret = puddle_key.split(".", 1)[1]
    stored = str(list(mongo_client[tweet_settings.database_name]["api_keys"].find({})))
    assert secret not in stored and puddle_key not in stored
    listed = client.get(f"/v1/merchants/{PUDDLE}/api-keys", headers=admin(issuer)).json()
    assert [k["revoked_at"] for k in listed] == [None]
    assert secret not in str(listed)
    # checkout learns the selling terms from the compacted merchants topic, never a key
    records = await read_until(
        tweet_settings.kafka_bootstrap_servers,
        MERCHANTS.named(tweet_settings.topic_prefix),
        lambda r: len(r) >= 2,
    )
    terms = [decode(r.value, r.headers) for r in records]
    assert all(isinstance(t, MerchantProfileChanged) and t.merchant_id == PUDDLE for t in terms)
    assert [t.fee_bps for t in terms if isinstance(t, MerchantProfileChanged)] == [500, 250]
    assert all(secret not in r.value.decode() and "bbk_" not in r.value.decode() for r in records)
    second = client.post(f"/v1/merchants/{PUDDLE}/api-keys", headers=admin(issuer)).json()
    logged = "".join(capfd.readouterr()) + caplog.text
    assert second["key_id"] in logged, "the issuance is logged with the key id"
    assert "merchant changed" in logged and "admin:admin-grace" in logged, "changes name the admin"
    assert second["api_key"].split(".", 1)[1] not in logged and secret not in logged


def test_registering_twice_or_with_bad_fields_is_refused(client: TestClient, issuer: TokenIssuer) -> None:
    merchant = {"merchant_id": "merchant-brolly", "name": "Brolly", "stripe_account_id": "acct_1Brolly"}
    assert client.post("/v1/merchants", headers=admin(issuer), json=merchant).status_code == 201
    assert client.post("/v1/merchants", headers=admin(issuer), json=merchant).status_code == 409
    for bad in (
        {"fee_bps": 10_001},
        {"stripe_account_id": "sk_live_oops"},
        {"merchant_id": "a b"},
        {"extra": 1},
    ):
        response = client.post("/v1/merchants", headers=admin(issuer), json={**merchant, **bad})
        assert response.status_code == 422, (bad, response.text)
    assert client.post("/v1/merchants/merchant-nobody/api-keys", headers=admin(issuer)).status_code == 404


def test_a_merchant_cannot_post_for_another(client: TestClient, puddle_key: str, galosh_key: str) -> None:
    response = client.post(f"/v1/merchants/{GALOSH}/tweets", headers=api_key(puddle_key), json=raincoat())
    assert response.status_code == 403
    assert response.json()["detail"] == "a merchant may only act for itself"
