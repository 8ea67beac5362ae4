"""Merchants post product tweets: stored and published atomically (outbox), strictly validated
(a bad field answers 422 naming the field, and nothing is stored or published), only by
allow-listed sellers; restocks and price changes are events too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tweet_support import GALOSH, PUDDLE, api_key, raincoat

from buybutton.events import ProductPriceChanged, ProductRestocked, TweetWithProductPosted
from buybutton.kafka.codec import decode, header
from buybutton.topics import TWEETS
from devstack.testing import read_until
from tweet_service.config import Settings

LUHN_VALID_CARD = "4242 4242 4242 4242"
COMPACT_CARD = LUHN_VALID_CARD.replace(" ", "")


def tweets_db(mongo_client: Any, settings: Settings) -> Any:
    return mongo_client[settings.database_name]["tweets"]


async def tweet_events(settings: Settings, count: int) -> list[Any]:
    records = await read_until(
        settings.kafka_bootstrap_servers, TWEETS.named(settings.topic_prefix), lambda r: len(r) >= count
    )
    return records


async def test_a_product_tweet_is_stored_and_published_with_headers(
    client: TestClient, puddle_key: str, tweet_settings: Settings
) -> None:
    response = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(puddle_key), json=raincoat())
    assert response.status_code == 201, response.text
    posted = response.json()
    assert posted["product"]["price"] == {"amount_minor": 4_999, "currency": "USD"}
    assert [v["sold_out"] for v in posted["product"]["variants"]] == [False, True]
    [record] = await tweet_events(tweet_settings, 1)
    event = decode(record.value, record.headers)
    assert isinstance(event, TweetWithProductPosted)
    assert header(record.headers, "event_type") == "TweetWithProductPosted"
    assert record.key == posted["tweet_id"].encode()
    assert (event.tweet_id, event.merchant_id) == (posted["tweet_id"], PUDDLE)
    assert event.product.product_id == posted["product"]["product_id"]
    assert [(v.variant_id, v.stock) for v in event.product.variants] == [
        ("raincoat-m", 12),
        ("raincoat-l", 0),
    ]


def oversized(limit: int) -> str:
    return "rain " * (limit // 5 + 1)


BAD_INPUTS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "negative price": (
        raincoat(price={"amount_minor": -1, "currency": "USD"}),
        ["product", "price", "amount_minor"],
    ),
    "zero price": (
        raincoat(price={"amount_minor": 0, "currency": "USD"}),
        ["product", "price", "amount_minor"],
    ),
    "unknown currency": (
        raincoat(price={"amount_minor": 100, "currency": "XYZ"}),
        ["product", "price", "currency"],
    ),
    "float price": (
        raincoat(price={"amount_minor": 49.99, "currency": "USD"}),
        ["product", "price", "amount_minor"],
    ),
    "description over 5 000 characters": (raincoat(description="x" * 5_001), ["product", "description"]),
    "missing variant stock": (
        raincoat(variants=[{"sku": "raincoat-m", "attributes": {}}]),
        ["product", "variants", 0, "stock"],
    ),
    "no variants": (raincoat(variants=[]), ["product", "variants"]),
    "duplicate sku": (
        raincoat(variants=[{"sku": "a", "stock": 1}, {"sku": "a", "stock": 2}]),
        ["product", "variants"],
    ),
    "http image": (
        raincoat(image_urls=["http://img.example.com/raincoat.jpg"]),
        ["product", "image_urls", 0],
    ),
    "unknown kind": (raincoat(kind="service"), ["product", "kind"]),
    "unknown field": (raincoat(price_override=1), ["product", "price_override"]),
    # card data is refused for the whole body, the message naming where (never what) it was
    "card number in description": (raincoat(description=f"pay with {LUHN_VALID_CARD}"), []),
    "card number as attribute name": (
        raincoat(variants=[{"sku": "a", "attributes": {COMPACT_CARD: "blue"}, "stock": 1}]),
        [],
    ),
    "attribute name with $": (
        raincoat(variants=[{"sku": "a", "attributes": {"$size": "M"}, "stock": 1}]),
        ["product", "variants", 0, "attributes", "<a key>", "[key]"],  # a key is never repeated
    ),
    "attribute name with a dot": (
        raincoat(variants=[{"sku": "a", "attributes": {"si.ze": "M"}, "stock": 1}]),
        ["product", "variants", 0, "attributes", "<a key>", "[key]"],
    ),
    "attribute name with NUL": (
        raincoat(variants=[{"sku": "a", "attributes": {"si\u0000ze": "M"}, "stock": 1}]),
        ["product", "variants", 0, "attributes"],
    ),
    "tweet too long": ({**raincoat(), "text": "a" * 281}, ["text"]),
    "empty tweet": ({**raincoat(), "text": "   "}, ["text"]),
    "control characters": ({**raincoat(), "text": "rain\x00coat"}, ["text"]),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
async def test_bad_input_is_refused_with_the_field_and_nothing_is_stored_or_published(
    client: TestClient, puddle_key: str, tweet_settings: Settings, mongo_client: Any, case: str
) -> None:
    body, location = BAD_INPUTS[case]
    response = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(puddle_key), json=body)
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert any(p["loc"][1 : 1 + len(location)] == location for p in problems), problems
    assert LUHN_VALID_CARD not in response.text and COMPACT_CARD not in response.text
    assert "x" * 100 not in response.text
    if not location:
        assert "card data is never accepted" in problems[0]["msg"]
    assert tweets_db(mongo_client, tweet_settings).count_documents({}) == 0
    # a good tweet posted afterwards is the only one on the topic
    good = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(puddle_key), json=raincoat())
    good_key = good.json()["tweet_id"].encode()
    records = await read_until(
        tweet_settings.kafka_bootstrap_servers,
        TWEETS.named(tweet_settings.topic_prefix),
        lambda found: any(r.key == good_key for r in found),
    )
    assert {r.key for r in records} == {good_key}


def test_a_10_mb_body_answers_413_and_nothing_is_stored(
    client: TestClient, puddle_key: str, tweet_settings: Settings, mongo_client: Any
) -> None:
    body = raincoat(description="x" * 10_000_000)
    response = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(puddle_key), json=body)
    assert response.status_code == 413, response.text[:200]
    assert tweets_db(mongo_client, tweet_settings).count_documents({}) == 0


async def test_only_allow_listed_sellers_attach_products_but_anyone_may_tweet(
    client: TestClient, galosh_key: str, tweet_settings: Settings, mongo_client: Any
) -> None:
    refused = client.post(f"/v1/merchants/{GALOSH}/tweets", headers=api_key(galosh_key), json=raincoat())
    assert refused.status_code == 403
    # the answer says how to be allow-listed, and where that is documented
    detail = refused.json()["detail"]
    assert (
        "POST /v1/rules/buy-button/sellers on rollout-service" in detail and "docs/rollout-gate.md" in detail
    )
    plain = client.post(
        f"/v1/merchants/{GALOSH}/tweets", headers=api_key(galosh_key), json={"text": "Wellies soon."}
    )
    assert plain.status_code == 201, plain.text
    assert plain.json()["product"] is None
    assert tweets_db(mongo_client, tweet_settings).count_documents({}) == 1
    assert not tweets_db(mongo_client, tweet_settings).find_one({})["outbox"]


async def test_restock_and_price_change_are_published_in_order_after_the_posting(
    client: TestClient, puddle_key: str, tweet_settings: Settings
) -> None:
    headers = api_key(puddle_key)
    tweet_id = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=headers, json=raincoat()).json()[
        "tweet_id"
    ]
    base = f"/v1/merchants/{PUDDLE}/tweets/{tweet_id}"
    restocked = client.post(f"{base}/variants/raincoat-l/restock", headers=headers, json={"units": 5})
    assert restocked.status_code == 200, restocked.text
    assert [v["stock"] for v in restocked.json()["product"]["variants"]] == [12, 5]
    repriced = client.put(
        f"{base}/price", headers=headers, json={"price": {"amount_minor": 3_999, "currency": "USD"}}
    )
    assert repriced.json()["product"]["price"]["amount_minor"] == 3_999
    same_again = client.put(
        f"{base}/price", headers=headers, json={"price": {"amount_minor": 3_999, "currency": "USD"}}
    )
    assert same_again.status_code == 200, "setting the price it has is no error, and publishes nothing"
    client.post(f"{base}/variants/raincoat-m/restock", headers=headers, json={"units": 1})
    events = [decode(r.value, r.headers) for r in await tweet_events(tweet_settings, 4)]
    kinds = [TweetWithProductPosted, ProductRestocked, ProductPriceChanged, ProductRestocked]
    assert [type(e) for e in events] == kinds
    restock, price = events[1], events[2]
    assert isinstance(restock, ProductRestocked) and isinstance(price, ProductPriceChanged)
    assert (restock.variant_id, restock.units_added) == ("raincoat-l", 5)
    assert (price.previous_price.amount_minor, price.price.amount_minor) == (4_999, 3_999)

    wrong = {
        "unknown variant": client.post(
            f"{base}/variants/raincoat-xxl/restock", headers=headers, json={"units": 1}
        ),
        "unknown tweet": client.put(
            f"/v1/merchants/{PUDDLE}/tweets/tweet-nope/price",
            headers=headers,
            json={"price": {"amount_minor": 1, "currency": "USD"}},
        ),
        "other currency": client.put(
            f"{base}/price", headers=headers, json={"price": {"amount_minor": 3_999, "currency": "EUR"}}
        ),
        "zero units": client.post(f"{base}/variants/raincoat-m/restock", headers=headers, json={"units": 0}),
    }
    assert {k: r.status_code for k, r in wrong.items()} == {
        "unknown variant": 404,
        "unknown tweet": 404,
        "other currency": 409,
        "zero units": 422,
    }


def test_related_products_must_be_the_merchants_own(client: TestClient, puddle_key: str) -> None:
    headers = api_key(puddle_key)
    boots = client.post(
        f"/v1/merchants/{PUDDLE}/tweets", headers=headers, json=raincoat(title="Puddle boots")
    )
    boots_id = boots.json()["product"]["product_id"]
    coat = client.post(
        f"/v1/merchants/{PUDDLE}/tweets", headers=headers, json=raincoat(related_product_ids=[boots_id])
    )
    assert coat.status_code == 201, coat.text
    [related] = coat.json()["product"]["related_products"]
    assert (related["product_id"], related["title"]) == (boots_id, "Puddle boots")
    stranger = client.post(
        f"/v1/merchants/{PUDDLE}/tweets",
        headers=headers,
        json=raincoat(related_product_ids=["product-unknown"]),
    )
    assert stranger.status_code == 422


def test_own_tweets_page_newest_first_without_repeats(client: TestClient, puddle_key: str) -> None:
    headers = api_key(puddle_key)
    answers = [
        client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=headers, json={"text": f"drizzle {n}"}).json()
        for n in range(5)
    ]
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(4):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/merchants/{PUDDLE}/tweets", headers=headers, params=params).json()
        seen += page["tweets"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # newest first as the server orders: by (posted_at, tweet_id), so posts within one millisecond too;
    # and what each post answered is what every later read shows
    newest_first = sorted(answers, key=lambda a: (a["posted_at"], a["tweet_id"]), reverse=True)
    assert [(t["tweet_id"], t["posted_at"]) for t in seen] == [
        (a["tweet_id"], a["posted_at"]) for a in newest_first
    ]
    bad = client.get(f"/v1/merchants/{PUDDLE}/tweets", headers=headers, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_pages_stay_exact_when_tweets_share_a_millisecond(
    client: TestClient, puddle_key: str, tweet_settings: Settings, mongo_client: Any
) -> None:
    headers = api_key(puddle_key)
    posted = [
        client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=headers, json={"text": f"shower {n}"}).json()
        for n in range(7)
    ]
    same_moment = datetime(2014, 9, 8, 12, 0, 0, 123000, tzinfo=UTC)
    tweets_db(mongo_client, tweet_settings).update_many({}, {"$set": {"posted_at": same_moment}})
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = client.get(f"/v1/merchants/{PUDDLE}/tweets", headers=headers, params=params).json()
        seen += [t["tweet_id"] for t in page["tweets"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == sorted((p["tweet_id"] for p in posted), reverse=True)


async def test_a_change_retried_with_its_idempotency_key_is_applied_once(
    client: TestClient, puddle_key: str, galosh_key: str, tweet_settings: Settings, mongo_client: Any
) -> None:
    """A client that did not get its answer (a timeout, a 503) retries with the same key: the
    restock or price change is applied and published once; another key is another change; the
    same key from another merchant changes nothing of Puddle's tweet."""
    headers = api_key(puddle_key)
    tweet_id = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=headers, json=raincoat()).json()[
        "tweet_id"
    ]
    base = f"/v1/merchants/{PUDDLE}/tweets/{tweet_id}"
    restock, once = f"{base}/variants/raincoat-m/restock", {**headers, "Idempotency-Key": "restock-0001"}
    answers = [client.post(restock, headers=once, json={"units": 3}) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert {a.json()["product"]["variants"][0]["stock"] for a in answers} == {15}, "applied once: 12 + 3"
    price = {"price": {"amount_minor": 3_999, "currency": "USD"}}
    repriced = {**headers, "Idempotency-Key": "price-0001"}
    assert [client.put(f"{base}/price", headers=repriced, json=price).status_code for _ in range(3)] == [
        200
    ] * 3
    another = client.post(restock, headers={**headers, "Idempotency-Key": "restock-0002"}, json={"units": 3})
    assert another.json()["product"]["variants"][0]["stock"] == 18
    galosh = {**api_key(galosh_key), "Idempotency-Key": "restock-0001"}
    stolen = client.post(
        f"/v1/merchants/{GALOSH}/tweets/{tweet_id}/variants/raincoat-m/restock",
        headers=galosh,
        json={"units": 3},
    )
    assert stolen.status_code == 404
    events = [decode(r.value, r.headers) for r in await tweet_events(tweet_settings, 4)]
    assert [type(e) for e in events] == [
        TweetWithProductPosted,
        ProductRestocked,
        ProductPriceChanged,
        ProductRestocked,
    ]
    card_key = client.post(restock, headers={**headers, "Idempotency-Key": COMPACT_CARD}, json={"units": 1})
    assert card_key.status_code == 200 and COMPACT_CARD not in card_key.text
    assert COMPACT_CARD not in str(tweets_db(mongo_client, tweet_settings).find_one({"_id": tweet_id})), (
        "only a hash of a key is kept"
    )
