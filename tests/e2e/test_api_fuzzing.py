"""Schema-driven fuzzing of the HTTP APIs (schemathesis, from each running service's own
OpenAPI document), with valid credentials so that requests reach validation and the handlers:

- positive cases (valid by the schema; path ids pinned to a real merchant, tweet, variant, key
  and rule) are answered without a server error, and every operation succeeds at least once;
- negative cases (extra fields, wrong types, out-of-range numbers, long strings, bad ids) are
  answered 4xx, never 5xx, every operation refusing at least one;
- positive product tweets with a Luhn-valid card number planted in a value or a key are
  refused 422 without the number in the answer; an accepted product keeps the price sent.
Figures: requests by generation mode and status."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from e2e_support import Platform
from fuzz_support import assert_each_operation_succeeds_and_refuses, fuzz_every_operation
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from tweet_support import PUDDLE, raincoat

CARD = "4242424242424242"


@pytest.fixture
def tweet_api(platform: Platform) -> Any:
    """tweet-service's schema, with Puddle & Co. registered, allow-listed and selling a raincoat."""
    rollout = platform.bearer("admin", "admin-grace", "rollout-service", scopes=["rollout:write"])
    rule = {"countries": ["US"], "percentage_bps": 10_000, "allowed_sellers": [PUDDLE]}
    assert platform.rollout.put("/v1/rules/buy-button", headers=rollout, json=rule).status_code == 200
    admin = platform.bearer("admin", "admin-grace", "tweet-service", scopes=["merchants:write"])
    merchant = {"merchant_id": PUDDLE, "name": "Puddle & Co.", "stripe_account_id": "acct_1Puddle"}
    assert platform.tweets.post("/v1/merchants", headers=admin, json=merchant).status_code == 201
    key = platform.tweets.post(f"/v1/merchants/{PUDDLE}/api-keys", headers=admin).json()["api_key"]
    spare = platform.tweets.post(f"/v1/merchants/{PUDDLE}/api-keys", headers=admin).json()["key_id"]
    platform.credentials = {
        "admin": admin,
        "merchant": {"X-Api-Key": key},
        "buyer": platform.bearer("buyer", "buyer-ada", "tweet-service", country="US"),
    }
    deadline = time.monotonic() + 10  # until tweet-service's replica has Puddle allow-listed
    while (
        posted := platform.tweets.post(
            f"/v1/merchants/{PUDDLE}/tweets", headers={"X-Api-Key": key}, json=raincoat()
        )
    ).status_code != 201:
        assert time.monotonic() < deadline, "Puddle & Co. not allow-listed in tweet-service in time"
        time.sleep(0.1)
    platform.pinned = {
        "merchant_id": PUDDLE,
        "tweet_id": posted.json()["tweet_id"],
        "product_id": posted.json()["product"]["product_id"],
        "sku": "raincoat-m",
        "key_id": spare,
    }
    return schemathesis.openapi.from_url(f"{platform.tweets.base_url}/openapi.json")


@pytest.fixture
def rollout_api(platform: Platform) -> Any:
    admin = platform.bearer(
        "admin", "admin-grace", "rollout-service", scopes=["rollout:write", "rollout:read"]
    )
    rule = {"countries": ["US"], "percentage_bps": 100, "allowed_sellers": [PUDDLE]}
    assert platform.rollout.put("/v1/rules/buy-button", headers=admin, json=rule).status_code == 200
    platform.credentials = {"admin": admin}
    return schemathesis.openapi.from_url(f"{platform.rollout.base_url}/openapi.json")


def tweet_credentials(platform: Platform, case: schemathesis.Case) -> dict[str, str]:
    if case.path in ("/v1/timeline", "/v1/tweets/{tweet_id}"):
        return platform.credentials["buyer"]
    merchants_own = case.path.startswith(
        ("/v1/merchants/{merchant_id}/tweets", "/v1/merchants/{merchant_id}/tokens")
    )
    if merchants_own or (case.method, case.path) == ("GET", "/v1/merchants/{merchant_id}"):
        return platform.credentials["merchant"]
    return platform.credentials["admin"]


def pin(case: schemathesis.Case, platform: Platform) -> None:
    """Point a positive case at things that exist, so that it reaches the handler's success path."""
    for name in case.path_parameters or {}:
        case.path_parameters[name] = platform.pinned.get(name, case.path_parameters[name])
    if case.path.endswith("/tokens") and isinstance(case.body, dict):
        case.body["audience"] = "checkout-service"  # tokens are issued for configured audiences only
    if case.path.endswith("/price") and isinstance(case.body, dict):
        case.body["price"]["currency"] = "USD"  # a price keeps its currency
    product = case.body.get("product") if isinstance(case.body, dict) else None
    if isinstance(product, dict) and product.get("related_product_ids"):
        product["related_product_ids"] = [platform.pinned["product_id"]]  # the merchant's own


def plant_card(case: schemathesis.Case, where: str) -> None:
    product = case.body["product"]
    if where == "value":
        product["description"] = f"{product.get('description', '')[:100]} card {CARD}"
    else:
        product["variants"][0]["attributes"] = {CARD: "yellow"}


def test_tweet_service_answers_generated_requests_without_a_server_error(
    tweet_api: Any, platform: Platform
) -> None:
    planted: Counter[str] = Counter()

    def call(case: schemathesis.Case, mode: GenerationMode) -> Any:
        if mode is GenerationMode.POSITIVE:
            pin(case, platform)
        response = case.call(headers=tweet_credentials(platform, case))
        case.validate_response(response, checks=[not_a_server_error])
        sells = case.method == "POST" and case.path.endswith("/tweets") and isinstance(case.body, dict)
        if mode is GenerationMode.POSITIVE and sells and case.body.get("product"):
            if response.status_code == 201:
                assert response.json()["product"]["price"] == case.body["product"]["price"]
            where = ("value", "key")[sum(planted.values()) % 2]
            plant_card(case, where)
            refused = case.call(headers=tweet_credentials(platform, case))
            assert refused.status_code == 422 and CARD not in refused.text, refused.text
            planted[where] += 1
        return response

    statuses = fuzz_every_operation(tweet_api, call)
    print(f"card numbers planted in product tweets: {dict(planted)}; accepted 0")
    assert planted["value"] and planted["key"]
    assert_each_operation_succeeds_and_refuses(
        statuses, never_refused={"GET /v1/merchants/{merchant_id}/api-keys"}
    )


def test_rollout_service_answers_generated_requests_without_a_server_error(
    rollout_api: Any, platform: Platform
) -> None:
    def call(case: schemathesis.Case, mode: GenerationMode) -> Any:
        whole_rule = (case.method, case.path) == ("PUT", "/v1/rules/{rule_name}")
        if mode is GenerationMode.POSITIVE and "rule_name" in (case.path_parameters or {}) and not whole_rule:
            case.path_parameters["rule_name"] = "buy-button"  # partial changes need a rule in force
        response = case.call(headers=platform.credentials["admin"])
        case.validate_response(response, checks=[not_a_server_error])
        return response

    statuses = fuzz_every_operation(rollout_api, call)
    assert_each_operation_succeeds_and_refuses(statuses, never_refused=set())
