"""The platform's services as real processes (``python -m <package>``, configured only by
environment variables), on this test's own topics and databases, verifying tokens from the
shared test ``issuer``. Each fixture stops its processes and drops its databases afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from e2e_support import Platform
from shop_support import shop_setup  # noqa: F401  (a fixture)

from buybutton.auth import TokenIssuer, generate_signing_key
from devstack.endpoints import Endpoints
from devstack.service_process import running_service


@pytest.fixture
def platform(
    endpoints: Endpoints,
    registry_topics: str,
    unique_name: str,
    mongo_client: Any,
    signing_key: tuple[str, str],
    issuer: TokenIssuer,
) -> Iterator[Platform]:
    database = unique_name.replace("-", "_")[:50]
    common = {
        **endpoints.as_env(),
        "ENVIRONMENT": "test",
        "AUTH_PUBLIC_KEY": signing_key[1],
        "KAFKA_TOPIC_PREFIX": registry_topics,
        "LOG_LEVEL": "WARNING",
        "ROLLOUT_MONGODB_DATABASE": f"{database}_rollout",
        "ROLLOUT_CONSUMER_GROUP": f"{unique_name}-rollout-service",
        "ROLLOUT_COMMAND_TIMEOUT_S": "5",
        "TWEET_MONGODB_DATABASE": f"{database}_tweet",
        "TWEET_MERCHANT_TOKEN_SIGNING_KEY": generate_signing_key()[0],
    }
    try:
        with (
            running_service("rollout-service", common) as rollout,
            running_service("tweet-service", common) as tweets,
            httpx.Client(base_url=tweets.url, timeout=30) as tweet_client,
            httpx.Client(base_url=rollout.url, timeout=30) as rollout_client,
        ):
            yield Platform(issuer, tweet_client, rollout_client)
    finally:
        for suffix in ("_rollout", "_tweet"):
            mongo_client.drop_database(database + suffix)
