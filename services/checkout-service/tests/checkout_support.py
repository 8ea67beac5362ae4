"""Test data for checkout-service tests: Puddle & Co.'s yellow raincoat (the last few units of
size M), its merchant terms, the rollout rules that show it to US buyers, tokens, and helpers
that put the events on this test's own topics."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from gate_samples import PUDDLE as PUDDLE
from gate_samples import RULE as RULE
from gate_samples import rules as rules

from buybutton.auth import TokenIssuer
from buybutton.events import (
    Event,
    MerchantProfileChanged,
    ProductPriceChanged,
    ProductRestocked,
    TweetWithProductPosted,
)
from buybutton.kafka.codec import decode
from buybutton.kafka.producer import EventPublisher
from buybutton.money import Money
from devstack.testing import read_until

AUD = "checkout-service"
GALOSH = "merchant-galosh-gmbh"
RAINCOAT_TWEET = "tweet-puddle-raincoat"
GALOSH_TWEET = "tweet-galosh-boots"
PRICE = Money(amount_minor=4_999, currency="USD")
EventT = TypeVar("EventT", bound=Event)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def buyer(issuer: TokenIssuer, buyer_id: str = "buyer-ada", country: str | None = "US") -> dict[str, str]:
    return bearer(issuer.mint("buyer", buyer_id, audience=AUD, country=country))


def tap(key: str, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def posted(
    tweet_id: str = RAINCOAT_TWEET, merchant_id: str = PUDDLE, *, stock_m: int = 5, sequence: int = 1
) -> TweetWithProductPosted:
    product: dict[str, Any] = {
        "product_id": f"product-{tweet_id}",
        "title": "Puddle raincoat",
        "description": "Yellow, seam-sealed, with a hood that stays put.",
        "price": PRICE,
        "image_urls": ["https://img.example.com/raincoat.jpg"],
        "kind": "physical",
        "variants": [
            {"variant_id": "raincoat-m", "attributes": {"size": "M"}, "stock": stock_m},
            {"variant_id": "raincoat-l", "attributes": {"size": "L"}, "stock": 0},
        ],
    }
    return TweetWithProductPosted(
        tweet_id=tweet_id,
        merchant_id=merchant_id,
        correlation_id=tweet_id,
        producer="tweet-service",
        text="Stay dry in style: the Puddle raincoat, now buyable right here.",
        product=product,
        sequence=sequence,
    )


def restocked(units: int, *, sequence: int, variant_id: str = "raincoat-m") -> ProductRestocked:
    return ProductRestocked(
        tweet_id=RAINCOAT_TWEET,
        merchant_id=PUDDLE,
        correlation_id=RAINCOAT_TWEET,
        producer="tweet-service",
        product_id=f"product-{RAINCOAT_TWEET}",
        variant_id=variant_id,
        units_added=units,
        sequence=sequence,
    )


def price_changed(amount_minor: int, *, sequence: int) -> ProductPriceChanged:
    return ProductPriceChanged(
        tweet_id=RAINCOAT_TWEET,
        merchant_id=PUDDLE,
        correlation_id=RAINCOAT_TWEET,
        producer="tweet-service",
        product_id=f"product-{RAINCOAT_TWEET}",
        price=Money(amount_minor=amount_minor, currency="USD"),
        previous_price=PRICE,
        sequence=sequence,
    )


def terms(merchant_id: str = PUDDLE, *, fee_bps: int = 500, sequence: int = 1) -> MerchantProfileChanged:
    return MerchantProfileChanged(
        merchant_id=merchant_id,
        correlation_id=merchant_id,
        producer="tweet-service",
        name=merchant_id.title(),
        stripe_account_id="acct_1Puddle",
        fee_bps=fee_bps,
        sequence=sequence,
    )


async def publish(bootstrap: str, prefix: str, *events: Event) -> None:
    publisher = await EventPublisher.start(bootstrap, client_id="tests-checkout", topic_prefix=prefix)
    try:
        for event in events:
            await publisher.publish(event)
    finally:
        await publisher.stop()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def stock_left(db: Any, tweet_id: str = RAINCOAT_TWEET, variant_id: str = "raincoat-m") -> int:
    """Supplied - sold - held, as stored in checkout's catalogue."""
    tweet = db.catalogue.find_one({"_id": tweet_id})
    [found] = [v for v in tweet["variants"] if v["variant_id"] == variant_id]
    return int(found["supplied"] - found["sold"] - sum(h["quantity"] for h in tweet["holds"]))


async def events_on_topic(
    bootstrap: str, topic: str, kind: type[EventT], *, at_least: int = 1
) -> list[EventT]:
    """The events of ``kind`` on ``topic``, read until there are ``at_least``."""

    def of_kind(records: list[Any]) -> list[EventT]:
        return [e for e in (decode(r.value, r.headers) for r in records) if isinstance(e, kind)]

    return of_kind(await read_until(bootstrap, topic, lambda records: len(of_kind(records)) >= at_least))


def wait_for_view(client: Any, database: str, timeout_s: float = 60) -> None:
    db = client[database]
    deadline = time.monotonic() + timeout_s
    while not (
        db.catalogue.count_documents({"_id": {"$in": [RAINCOAT_TWEET, GALOSH_TWEET]}}) == 2
        and db.merchant_terms.count_documents({}) == 2
    ):
        assert time.monotonic() < deadline, "checkout's view did not catch up with the shop's events"
        time.sleep(0.1)
