"""Given a raincoat tweet, when checkout publishes StockAvailabilityChanged on its stock topic
(the real broker), then buyers see the variant sold out on the tweet and in the timeline while
the merchant keeps its count with checkout's flag beside it; a late older event changes nothing;
a newer one makes the variant sellable again."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tweet_support import PUDDLE, api_key, buyer, raincoat

from buybutton.auth import TokenIssuer
from buybutton.events import StockAvailabilityChanged
from buybutton.kafka.producer import EventPublisher
from devstack.testing import wait_for
from tweet_service.config import Settings


def checkout_says(
    tweet_id: str, variant_id: str, *, sold_out: bool, sequence: int
) -> StockAvailabilityChanged:
    return StockAvailabilityChanged(
        tweet_id=tweet_id,
        variant_id=variant_id,
        sold_out=sold_out,
        sequence=sequence,
        correlation_id=tweet_id,
        producer="checkout-service",
    )


def variants(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["variant_id"]: v for v in card["product"]["variants"]}


async def test_buyers_see_what_checkout_says_is_sold_out(
    client: TestClient, issuer: TokenIssuer, puddle_key: str, tweet_settings: Settings
) -> None:
    posted = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(puddle_key), json=raincoat())
    assert posted.status_code == 201, posted.text
    tweet_id = posted.json()["tweet_id"]

    def buyer_tweet() -> dict[str, dict[str, Any]]:
        return variants(client.get(f"/v1/tweets/{tweet_id}", headers=buyer(issuer)).json())

    def timeline_tweet() -> dict[str, dict[str, Any]]:
        page = client.get("/v1/timeline", headers=buyer(issuer)).json()
        return variants(next(t for t in page["tweets"] if t["tweet_id"] == tweet_id))

    def merchants_tweet() -> dict[str, dict[str, Any]]:
        page = client.get(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(puddle_key)).json()
        return variants(next(t for t in page["tweets"] if t["tweet_id"] == tweet_id))

    assert not buyer_tweet()["raincoat-m"]["sold_out"] and buyer_tweet()["raincoat-l"]["sold_out"]
    publisher = await EventPublisher.start(
        tweet_settings.kafka_bootstrap_servers,
        client_id="tests-checkout",
        topic_prefix=tweet_settings.topic_prefix,
    )
    published = 0
    try:
        await publisher.publish(checkout_says(tweet_id, "raincoat-m", sold_out=True, sequence=2))
        published += 1
        await wait_for(
            lambda: buyer_tweet()["raincoat-m"]["sold_out"], timeout_s=30, what="sold out on the tweet"
        )
        assert timeline_tweet()["raincoat-m"]["sold_out"], "the timeline shows it sold out too"
        assert "stock" not in buyer_tweet()["raincoat-m"], "buyers never see counts"
        mine = merchants_tweet()["raincoat-m"]
        assert (mine["stock"], mine["sold_out"], mine["checkout_sold_out"]) == (12, False, True)

        # a late older event, then a newer one about the other variant, to know the older was taken
        await publisher.publish(checkout_says(tweet_id, "raincoat-m", sold_out=False, sequence=1))
        await publisher.publish(checkout_says(tweet_id, "raincoat-l", sold_out=True, sequence=3))
        published += 2
        await wait_for(
            lambda: merchants_tweet()["raincoat-l"]["checkout_sold_out"],
            timeout_s=30,
            what="the marker event",
        )
        still = buyer_tweet()["raincoat-m"]["sold_out"]
        print(f"published {published} stock events, 1 of them late and older; still sold out: {still}")
        assert still, "a late older event never overturns a newer one"

        await publisher.publish(checkout_says(tweet_id, "raincoat-m", sold_out=False, sequence=4))
        published += 1
        await wait_for(
            lambda: not buyer_tweet()["raincoat-m"]["sold_out"], timeout_s=30, what="sellable again"
        )
        assert not timeline_tweet()["raincoat-m"]["sold_out"]
        assert buyer_tweet()["raincoat-l"]["sold_out"], "none left by the merchant's count: still sold out"
        assert merchants_tweet()["raincoat-m"]["checkout_sold_out"] is False
    finally:
        await publisher.stop()
