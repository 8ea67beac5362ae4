"""The webhook endpoint over HTTP against the real database: registration shows the first
secret once, the GET never shows a secret, SSRF refusals answer 422 and store nothing, a
rotation keeps the replaced secret signing through the overlap (both verify with the
standardwebhooks library) and drops it after, and merchant A can neither read nor change B's
endpoint."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from relay_api_fixtures import merchant_app
from relay_api_support import GALOSH, PUBLIC_HOST, PUDDLE, merchant
from standardwebhooks import Webhook

from buybutton.auth import TokenIssuer
from merchant_relay.config import Settings
from merchant_relay.endpoints import live_secrets

HOOK = f"https://{PUBLIC_HOST}/webhooks/buybutton"
PATH = f"/v1/merchants/{PUDDLE}/endpoint"


def test_registration_shows_the_first_secret_once(
    relay_client: TestClient, merchant_issuer: TokenIssuer, mongo_db: Any
) -> None:
    puddle = merchant(merchant_issuer)
    first = relay_client.put(PATH, json={"url": HOOK}, headers=puddle)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["url"] == HOOK and body["secret"].startswith("whsec_")
    assert [s["secret_id"] for s in body["secrets"]] == [body["secrets"][0]["secret_id"]]
    again = relay_client.put(PATH, json={"url": HOOK}, headers=puddle)
    assert again.status_code == 200 and again.json()["secret"] is None
    moved = relay_client.put(PATH, json={"url": HOOK + "/v2"}, headers=puddle)
    assert moved.status_code == 200 and moved.json()["secrets"] == body["secrets"]
    shown = relay_client.get(PATH, headers=puddle)
    assert shown.status_code == 200 and shown.json()["url"] == HOOK + "/v2"
    assert body["secret"] not in shown.text and 'secret"' not in shown.text.replace('secrets"', "")
    stored = mongo_db.endpoints.find_one({"_id": PUDDLE})
    assert stored["secrets"][0]["secret"] == body["secret"]  # the pipeline signs with it


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://10.0.0.8/hooks",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hooks",
        "https://sneaky.puddle.example/hooks",
        "http://hooks.puddle.example/hooks",
    ],
)
def test_inner_addresses_are_refused_and_nothing_is_stored(
    relay_client: TestClient, merchant_issuer: TokenIssuer, mongo_db: Any, url: str
) -> None:
    answer = relay_client.put(PATH, json={"url": url}, headers=merchant(merchant_issuer))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["type"] == "unsafe_endpoint" and url not in answer.text
    assert mongo_db.endpoints.count_documents({}) == 0


def test_local_rules_take_a_receiver_on_this_machine(
    api_settings: dict[str, Any], mongo_db: Any, merchant_issuer: TokenIssuer
) -> None:
    settings = Settings(**{**api_settings, "endpoint_rules": "local"})
    with TestClient(merchant_app(settings, mongo_db)) as client:
        answer = client.put(
            PATH, json={"url": "http://127.0.0.1:9100/hooks"}, headers=merchant(merchant_issuer)
        )
    assert answer.status_code == 201, answer.text
    with pytest.raises(ValueError, match="refused in production"):
        Settings(**{**api_settings, "environment": "production", "endpoint_rules": "local"})
    assert Settings(**{**api_settings, "environment": "development"}).local_endpoints_allowed


def test_rotation_keeps_both_secrets_valid_through_the_overlap(
    relay_client: TestClient, merchant_issuer: TokenIssuer, mongo_db: Any
) -> None:
    puddle = merchant(merchant_issuer)
    old = relay_client.put(PATH, json={"url": HOOK}, headers=puddle).json()
    rotated = relay_client.post(f"{PATH}/secrets/rotate", headers=puddle)
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["secret"] != old["secret"] and new["secret"].startswith("whsec_")
    listed = {s["secret_id"]: s for s in relay_client.get(PATH, headers=puddle).json()["secrets"]}
    old_id = old["secrets"][0]["secret_id"]
    assert set(listed) == {old_id, new["secret_id"]} and listed[new["secret_id"]]["expires_at"] is None
    stored = mongo_db.endpoints.find_one({"_id": PUDDLE})
    replaced = next(s for s in stored["secrets"] if s["secret_id"] == old_id)
    overlap = replaced["expires_at"] - replaced["created_at"]
    assert timedelta(hours=23, minutes=59) < overlap <= timedelta(hours=24, seconds=5)
    # the pipeline's choice 23 hours into the overlap (signed now, so the timestamp is fresh)
    signing = live_secrets(stored["secrets"], replaced["created_at"] + timedelta(hours=23))
    payload = json.dumps({"type": "order.paid", "data": {"order_id": "order-raincoat-1"}})
    signatures = " ".join(
        Webhook(s["secret"]).sign("msg_raincoat", replaced["created_at"], payload) for s in signing
    )
    headers = {
        "webhook-id": "msg_raincoat",
        "webhook-timestamp": str(int(replaced["created_at"].timestamp())),
        "webhook-signature": signatures,
    }
    verified = 0
    for secret in (old["secret"], new["secret"]):
        assert Webhook(secret).verify(payload, headers) == json.loads(payload)
        verified += 1
    after = live_secrets(stored["secrets"], replaced["expires_at"] + timedelta(seconds=1))
    print(
        f"\n[rotation] {len(signing)} secrets signed during the overlap, {verified} receivers verified; "
        f"{len(after)} signs after it"
    )
    assert len(signing) == 2 and [s["secret_id"] for s in after] == [new["secret_id"]]


def test_another_merchant_can_neither_read_nor_change_the_endpoint(
    relay_client: TestClient, merchant_issuer: TokenIssuer, issuer: TokenIssuer, mongo_db: Any
) -> None:
    relay_client.put(PATH, json={"url": HOOK}, headers=merchant(merchant_issuer))
    galosh = merchant(merchant_issuer, GALOSH)
    attempts = [
        relay_client.get(PATH, headers=galosh),
        relay_client.put(PATH, json={"url": "https://hooks.galosh.example/x"}, headers=galosh),
        relay_client.post(f"{PATH}/secrets/rotate", headers=galosh),
    ]
    assert [a.status_code for a in attempts] == [403, 403, 403]
    buyer = {"Authorization": f"Bearer {issuer.mint('buyer', 'buyer-ada', audience='merchant-relay')}"}
    assert relay_client.get(PATH, headers=buyer).status_code == 403
    assert relay_client.get(PATH).status_code == 401
    forged = {"Authorization": f"Bearer {issuer.mint('merchant', PUDDLE, audience='merchant-relay')}"}
    assert relay_client.get(PATH, headers=forged).status_code == 200  # the identity may sign any kind
    other_audience = merchant_issuer.mint("merchant", PUDDLE, audience="checkout-service")
    assert relay_client.get(PATH, headers={"Authorization": f"Bearer {other_audience}"}).status_code == 401
    assert mongo_db.endpoints.find_one({"_id": PUDDLE})["url"] == HOOK
    assert (
        relay_client.post(f"/v1/merchants/{GALOSH}/endpoint/secrets/rotate", headers=galosh).status_code
        == 404
    )
