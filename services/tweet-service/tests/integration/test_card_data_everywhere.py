"""Property: a card number (Stripe's test numbers and random Luhn-valid ones, written with random
separators, beside words or other digit groups) is refused in every place tweet-service takes
text or an id: tweet text, product title, description, variant attribute values and names, skus,
related product ids, merchant id and name (POST and PATCH), path parameters, query parameters
and token subjects; never echoed, never stored, never published. Ordinary text with digits
(addresses, phone numbers, order numbers, dates, prices) is accepted. Both print their counts."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from card_samples import Place, generated_cards_refused, ordinary_text
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from tweet_support import PUDDLE, admin, api_key, buyer, raincoat

from buybutton.auth import TokenIssuer
from buybutton.topics import MERCHANTS, TWEETS
from devstack.testing import read_all
from tweet_service.api_tweets import UNKNOWN_TWEET_OR_VARIANT
from tweet_service.config import Settings


def one_variant(**fields: Any) -> dict[str, Any]:
    return raincoat(variants=[{"sku": "raincoat-m", "attributes": {"size": "M"}, "stock": 1, **fields}])


def places(client: TestClient, issuer: TokenIssuer, key: str, tweet_id: str) -> dict[str, Place]:
    """Where a caller can put text, and the status that refuses it there."""
    merchant, grace = api_key(key), admin(issuer)
    tweets = f"/v1/merchants/{PUDDLE}/tweets"

    def post(body: dict[str, Any]) -> httpx.Response:
        return client.post(tweets, headers=merchant, json=body)

    def register(**fields: str) -> httpx.Response:
        body = {"merchant_id": "merchant-new", "name": "New", "stripe_account_id": "acct_1New", **fields}
        return client.post("/v1/merchants", headers=grace, json=body)

    return {
        "tweet text": (lambda t: post({"text": t}), 422),
        "product title": (lambda t: post(raincoat(title=t)), 422),
        "product description": (lambda t: post(raincoat(description=t)), 422),
        "attribute value": (lambda t: post(one_variant(attributes={"size": t})), 422),
        "attribute name": (lambda t: post(one_variant(attributes={t: "M"})), 422),
        "sku": (lambda t: post(one_variant(sku=t)), 422),
        "related product id": (lambda t: post(raincoat(related_product_ids=[t])), 422),
        "merchant id (POST)": (lambda t: register(merchant_id=t), 422),
        "merchant name (POST)": (lambda t: register(name=t), 422),
        "merchant name (PATCH)": (
            lambda t: client.patch(f"/v1/merchants/{PUDDLE}", headers=grace, json={"name": t}),
            422,
        ),
        "merchant id (path)": (
            lambda t: client.get(f"/v1/merchants/{quote(t, safe='')}", headers=merchant),
            422,
        ),
        "sku (path)": (
            lambda t: client.post(
                f"{tweets}/{tweet_id}/variants/{quote(t, safe='')}/restock",
                headers=merchant,
                json={"units": 1},
            ),
            422,
        ),
        "key id (path)": (
            lambda t: client.delete(f"/v1/merchants/{PUDDLE}/api-keys/{quote(t, safe='')}", headers=grace),
            422,
        ),
        "cursor (query)": (
            lambda t: client.get("/v1/timeline", headers=buyer(issuer), params={"cursor": t}),
            422,
        ),
        "any query parameter": (
            lambda t: client.get(f"/v1/tweets/{tweet_id}", headers=buyer(issuer), params={"note": t}),
            422,
        ),
        "buyer token subject": (lambda t: client.get("/v1/timeline", headers=buyer(issuer, t)), 401),
        "admin token subject": (
            lambda t: client.post(
                "/v1/merchants",
                headers={"Authorization": "Bearer " + issuer.mint("admin", t, audience="tweet-service")},
                json={"merchant_id": "merchant-new", "name": "New", "stripe_account_id": "acct_1New"},
            ),
            401,
        ),
    }


async def test_card_numbers_are_refused_everywhere_and_never_echoed_stored_or_published(
    client: TestClient,
    puddle_key: str,
    issuer: TokenIssuer,
    tweet_settings: Settings,
    mongo_client: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    posted = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(puddle_key), json=raincoat())
    assert posted.status_code == 201, posted.text
    where = places(client, issuer, puddle_key, posted.json()["tweet_id"])
    tried = generated_cards_refused(where, service="tweet-service", examples=60, capsys=capsys)
    assert tried["accepted"] == 0
    database = mongo_client[tweet_settings.database_name]
    assert database["tweets"].count_documents({}) == 1
    assert [m["name"] for m in database["merchants"].find({})] == [PUDDLE.title()]
    bootstrap, prefix = tweet_settings.kafka_bootstrap_servers, tweet_settings.topic_prefix
    published = await read_all(bootstrap, TWEETS.named(prefix)) + await read_all(
        bootstrap, MERCHANTS.named(prefix)
    )
    assert len(published) <= 2, "only the raincoat's tweet and Puddle's registration"


def test_ordinary_text_with_digits_is_accepted(
    client: TestClient, puddle_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tried: Counter[str] = Counter()

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(text=ordinary_text(), title=ordinary_text(max_size=140), description=ordinary_text())
    def check(text: str, title: str, description: str) -> None:
        tried["texts"] += 3
        body = {**raincoat(title=title, description=description), "text": text}
        response = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(puddle_key), json=body)
        tried["refused"] += 3 * (response.status_code == 422)
        assert response.status_code == 201, (text, title, description, response.text)
        assert response.json()["text"] == text.strip()

    check()
    with capsys.disabled():
        print(f"\ntweet-service: ordinary texts tried: {tried['texts']}, refused = {tried['refused']}")
    assert tried["refused"] == 0


def test_a_missing_variant_is_not_echoed(client: TestClient, puddle_key: str) -> None:
    posted = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(puddle_key), json=raincoat())
    tweet_id = posted.json()["tweet_id"]
    for sku in ("raincoat-xxl-ada-lovelace", "4242424242424242"):
        response = client.post(
            f"/v1/merchants/{PUDDLE}/tweets/{tweet_id}/variants/{sku}/restock",
            headers=api_key(puddle_key),
            json={"units": 1},
        )
        assert response.status_code in (404, 422), response.text
        assert sku not in response.text
    unknown = client.post(
        f"/v1/merchants/{PUDDLE}/tweets/{tweet_id}/variants/raincoat-xxl/restock",
        headers=api_key(puddle_key),
        json={"units": 1},
    )
    assert unknown.status_code == 404 and unknown.json() == {"detail": UNKNOWN_TWEET_OR_VARIANT}
