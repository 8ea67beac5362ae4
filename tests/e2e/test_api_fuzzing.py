"""Schema-driven fuzzing of the HTTP APIs (schemathesis, from each running service's own
OpenAPI document): every generated request (extra fields, wrong types, negative or huge
numbers, long strings) is answered without a server error, with valid credentials so that the
requests reach validation and the handlers, and a product tweet that is accepted carries
exactly the price that was sent."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from e2e_support import Platform
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from tweet_support import PUDDLE, raincoat

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
Call = Callable[[schemathesis.Case], Any]


def fuzz_every_operation(schema: Any, call: Call) -> Counter[int]:
    """Run ``call`` (which answers the response) on generated cases of every operation of
    ``schema``; the count of answers by status code, printed as the test's figure."""
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy())
        def fuzz(case: schemathesis.Case) -> None:
            statuses[call(case).status_code] += 1

        fuzz()
    tried = sum(statuses.values())
    print(f"\n{len(operations)} operations, {tried} requests, by status: {dict(sorted(statuses.items()))}")
    return statuses


@pytest.fixture
def tweet_api(platform: Platform) -> Any:
    """tweet-service's schema, with Puddle & Co. registered and allow-listed."""
    rollout = platform.bearer("admin", "admin-grace", "rollout-service", scopes=["rollout:write"])
    rule = {"countries": ["US"], "percentage_bps": 10_000, "allowed_sellers": [PUDDLE]}
    assert platform.rollout.put("/v1/rules/buy-button", headers=rollout, json=rule).status_code == 200
    admin = platform.bearer("admin", "admin-grace", "tweet-service", scopes=["merchants:write"])
    merchant = {"merchant_id": PUDDLE, "name": "Puddle & Co.", "stripe_account_id": "acct_1Puddle"}
    assert platform.tweets.post("/v1/merchants", headers=admin, json=merchant).status_code == 201
    key = platform.tweets.post(f"/v1/merchants/{PUDDLE}/api-keys", headers=admin).json()["api_key"]
    platform.credentials = {
        "admin": admin,
        "merchant": {"X-Api-Key": key},
        "buyer": platform.bearer("buyer", "buyer-ada", "tweet-service", country="US"),
    }
    deadline = time.monotonic() + 10  # until tweet-service's replica has Puddle allow-listed
    while (
        platform.tweets.post(
            f"/v1/merchants/{PUDDLE}/tweets", headers={"X-Api-Key": key}, json=raincoat()
        ).status_code
        != 201
    ):
        assert time.monotonic() < deadline, "Puddle & Co. not allow-listed in tweet-service in time"
        time.sleep(0.1)
    return schemathesis.openapi.from_url(f"{platform.tweets.base_url}/openapi.json")


@pytest.fixture
def rollout_api(platform: Platform) -> Any:
    return schemathesis.openapi.from_url(f"{platform.rollout.base_url}/openapi.json")


def tweet_credentials(platform: Platform, path: str, method: str) -> dict[str, str]:
    if path in ("/v1/timeline", "/v1/tweets/{tweet_id}"):
        return platform.credentials["buyer"]
    if path.startswith("/v1/merchants/{merchant_id}/tweets") or (path, method) == (
        "/v1/merchants/{merchant_id}",
        "GET",
    ):
        return platform.credentials["merchant"]
    return platform.credentials["admin"]


def same_price_as_sent(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """A product tweet that was accepted carries exactly the price in the request."""
    if case.method == "POST" and case.path.endswith("/tweets") and response.status_code == 201:
        sent = (case.body or {}).get("product")
        stored = response.json()["product"]
        if sent is not None:
            assert stored["price"] == sent["price"], "the stored price differs from the price sent"
    return None


def test_tweet_service_answers_generated_requests_without_a_server_error(
    tweet_api: Any, platform: Platform
) -> None:
    def call(case: schemathesis.Case) -> Any:
        if "merchant_id" in (case.path_parameters or {}):
            case.path_parameters["merchant_id"] = PUDDLE  # past the 403, into validation and handlers
        response = case.call(headers=tweet_credentials(platform, case.path, case.method))
        case.validate_response(response, checks=[not_a_server_error, same_price_as_sent])
        return response

    statuses = fuzz_every_operation(tweet_api, call)
    assert statuses[422] and statuses[201] and statuses[200], "fuzzing reached validation and handlers"


def test_rollout_service_answers_generated_requests_without_a_server_error(
    rollout_api: Any, platform: Platform
) -> None:
    scopes = ["rollout:write", "rollout:read"]
    admin = platform.bearer("admin", "admin-grace", "rollout-service", scopes=scopes)

    def call(case: schemathesis.Case) -> Any:
        response = case.call(headers=admin)
        case.validate_response(response, checks=[not_a_server_error])
        return response

    statuses = fuzz_every_operation(rollout_api, call)
    assert statuses[422] and statuses[200], "fuzzing reached validation and handlers"
