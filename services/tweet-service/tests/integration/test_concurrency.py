"""Concurrent changes lose nothing: restocks racing on one tweet all count and are all
published; price changes racing on one tweet publish a chain in which each previous price is
the one before; merchants changed through two instances at once end with the terms stored being
the last terms published."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

from fastapi.testclient import TestClient
from tweet_support import PUDDLE, admin, api_key, raincoat

from buybutton.auth import TokenIssuer
from buybutton.events import MerchantProfileChanged, ProductPriceChanged, ProductRestocked
from buybutton.kafka.codec import decode
from buybutton.topics import MERCHANTS, TWEETS
from devstack.testing import read_until
from tweet_service.app import create_app
from tweet_service.config import Settings

RESTOCKS = 40
PRICES = 20


def terms_of(record: Any) -> tuple[str, int]:
    event = decode(record.value, record.headers)
    assert isinstance(event, MerchantProfileChanged)
    return event.name, event.fee_bps


async def test_racing_restocks_and_price_changes_all_count_and_are_all_published(
    client: TestClient, puddle_key: str, tweet_settings: Settings
) -> None:
    headers = api_key(puddle_key)
    tweet_id = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=headers, json=raincoat()).json()[
        "tweet_id"
    ]
    base = f"/v1/merchants/{PUDDLE}/tweets/{tweet_id}"

    retried: Counter[str] = Counter()

    def until_answered(kind: str, send: Callable[[], Any]) -> int:
        """Send until the answer is not 503 (a tweet that kept changing under every attempt of
        the unit of work): a client retries with the same Idempotency-Key, applied once."""
        deadline = time.monotonic() + 60
        while (answer := send()).status_code == 503 and time.monotonic() < deadline:
            retried[kind] += 1
            time.sleep(float(answer.headers.get("Retry-After", "1")) / 10)
        return int(answer.status_code)

    def restock(n: int) -> int:
        keyed = {**headers, "Idempotency-Key": f"restock-{n}"}
        url = f"{base}/variants/raincoat-m/restock"
        return until_answered("restock", lambda: client.post(url, headers=keyed, json={"units": 1}))

    def reprice(n: int) -> int:
        price = {"price": {"amount_minor": 5_000 + n, "currency": "USD"}}
        keyed = {**headers, "Idempotency-Key": f"reprice-{n}"}
        return until_answered("reprice", lambda: client.put(f"{base}/price", headers=keyed, json=price))

    with ThreadPoolExecutor(16) as pool:
        restocked = list(pool.map(restock, range(RESTOCKS)))
        repriced = list(pool.map(reprice, range(PRICES)))
    print(f"racing restocks {RESTOCKS}, price changes {PRICES}; retried after contention {dict(retried)}")
    assert restocked.count(200) == RESTOCKS and repriced.count(200) == PRICES, (
        Counter(restocked),
        Counter(repriced),
    )
    final = client.get(f"/v1/merchants/{PUDDLE}/tweets", headers=headers).json()["tweets"][0]["product"]
    assert final["variants"][0]["stock"] == 12 + RESTOCKS

    records = await read_until(
        tweet_settings.kafka_bootstrap_servers,
        TWEETS.named(tweet_settings.topic_prefix),
        lambda found: len(found) >= 1 + RESTOCKS + PRICES,
    )
    events = [decode(r.value, r.headers) for r in records]
    assert sum(isinstance(e, ProductRestocked) for e in events) == RESTOCKS
    prices = [e for e in events if isinstance(e, ProductPriceChanged)]
    assert len(prices) == PRICES
    assert all(later.previous_price == earlier.price for earlier, later in pairwise(prices))
    assert prices[-1].price.amount_minor == final["price"]["amount_minor"]


async def test_merchant_changed_through_two_instances_ends_with_the_stored_terms_published_last(
    client: TestClient, puddle_key: str, tweet_settings: Settings, issuer: TokenIssuer, mongo_client: Any
) -> None:
    with TestClient(create_app(tweet_settings)) as second:

        def change(n: int) -> int:
            instance = (client, second)[n % 2]
            body = {"fee_bps": 100 + n} if n % 3 else {"name": f"Puddle {n}"}
            return instance.patch(f"/v1/merchants/{PUDDLE}", headers=admin(issuer), json=body).status_code

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(change, range(30)))
    assert set(answers) <= {200, 409}, answers
    stored = mongo_client[tweet_settings.database_name]["merchants"].find_one({"_id": PUDDLE})
    expected = (stored["name"], stored["fee_bps"])
    records = await read_until(
        tweet_settings.kafka_bootstrap_servers,
        MERCHANTS.named(tweet_settings.topic_prefix),
        lambda found: (
            (lambda last: (last.name, last.fee_bps) == expected)(decode(found[-1].value, found[-1].headers))
            if found
            else False
        ),
    )
    last = decode(records[-1].value, records[-1].headers)
    assert isinstance(last, MerchantProfileChanged)
    applied, retry = answers.count(200), answers.count(409)
    print(f"\n30 concurrent changes through 2 instances: {applied} applied, {retry} asked to retry")
