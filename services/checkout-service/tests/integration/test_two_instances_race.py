"""50 buyers race two checkout-service processes (one database, one topic prefix) for the last
5 raincoats: exactly 5 orders are held, the other 45 get a clear sold-out 409, and the stock
sampled during the race never goes below zero. Correctness rests on the catalogue aggregate's
conditional writes alone, whichever instance answers. And 20 concurrent taps of one
Idempotency-Key spread over both instances make one order and one BuyClicked."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

import httpx
from checkout_support import RAINCOAT_TWEET, buyer, events_on_topic, stock_left, tap, wait_for_view
from instances_support import running_instances, turns_of

from buybutton.auth import TokenIssuer
from buybutton.events import BuyClicked
from buybutton.topics import CHECKOUT
from checkout_service.config import Settings

BUYERS = 50
LAST_UNITS = 5


def instance_env(settings: Settings) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URL": settings.mongodb_url,
        "KAFKA_TOPIC_PREFIX": settings.topic_prefix,
        "CHECKOUT_MONGODB_DATABASE": settings.database_name,
        "AUTH_PUBLIC_KEY": settings.auth_public_key,
        "CHECKOUT_RULES_WAIT_S": "30",
        "CHECKOUT_SERVICE_SIGNING_KEY": settings.service_signing_key.get_secret_value(),
        "CHECKOUT_VAULT_URL": settings.vault_url,
        "CHECKOUT_STRIPE_SECRET_KEY": settings.stripe_secret_key.get_secret_value(),
        "CHECKOUT_STRIPE_API_BASE": settings.stripe_api_base or "",
        "CHECKOUT_STRIPE_WEBHOOK_SECRET": settings.stripe_webhook_secret.get_secret_value(),
        "LOG_LEVEL": "WARNING",
    }


async def test_fifty_buyers_race_two_instances_for_the_last_five(
    checkout_settings: Settings, shop_events: None, issuer: TokenIssuer, mongo_client: Any
) -> None:
    db = mongo_client[checkout_settings.database_name]
    body = {"tweet_id": RAINCOAT_TWEET, "variant_id": "raincoat-m", "quantity": 1}
    with running_instances(["checkout-service"], instance_env(checkout_settings)) as started:
        await asyncio.to_thread(wait_for_view, mongo_client, checkout_settings.database_name)
        lowest_stock, racing = LAST_UNITS, True

        async def sample_stock() -> None:
            nonlocal lowest_stock
            while racing:
                lowest_stock = min(lowest_stock, await asyncio.to_thread(stock_left, db))
                await asyncio.sleep(0.01)

        async with AsyncExitStack() as stack:
            turns = await turns_of(started["checkout-service"], stack)
            sampler = asyncio.create_task(sample_stock())

            async def tap_buy(n: int) -> httpx.Response:
                headers = tap(f"race-tap-{n}", buyer(issuer, f"buyer-racer-{n:02d}"))
                answer: httpx.Response = await turns.next().post("/v1/orders", json=body, headers=headers)
                return answer

            answers = await asyncio.gather(*(tap_buy(n) for n in range(BUYERS)))
            racing = False
            await sampler
    by_status = Counter(a.status_code for a in answers)
    by_instance = Counter(a.request.url.port for a in answers)
    sold_out = [a for a in answers if a.status_code == 409 and a.json()["detail"] == "sold out"]
    orders = db.orders.count_documents({"state": "held"})
    clicked = await events_on_topic(
        checkout_settings.kafka_bootstrap_servers,
        CHECKOUT.named(checkout_settings.topic_prefix),
        BuyClicked,
        at_least=LAST_UNITS,
    )
    print(
        f"{BUYERS} buyers, 2 instances, {LAST_UNITS} units: answers {dict(by_status)}, "
        f"answers per instance {sorted(by_instance.values())}, "
        f"sold-out answers {len(sold_out)}, orders held {orders}, BuyClicked {len(clicked)}, "
        f"stock at the end {stock_left(db)}, lowest stock seen {lowest_stock}"
    )
    assert len(by_instance) == 2
    assert by_status == {201: LAST_UNITS, 409: BUYERS - LAST_UNITS}
    assert len(sold_out) == BUYERS - LAST_UNITS and orders == LAST_UNITS
    assert len({c.order_id for c in clicked}) == LAST_UNITS
    assert stock_left(db) == 0 and lowest_stock >= 0


async def test_a_double_tap_across_two_instances_makes_one_order(
    checkout_settings: Settings, shop_events: None, issuer: TokenIssuer, mongo_client: Any
) -> None:
    db, taps = mongo_client[checkout_settings.database_name], 20
    body = {"tweet_id": RAINCOAT_TWEET, "variant_id": "raincoat-m", "quantity": 2}
    headers = tap("ada-impatient-thumb", buyer(issuer, "buyer-ada"))
    with running_instances(["checkout-service"], instance_env(checkout_settings)) as started:
        await asyncio.to_thread(wait_for_view, mongo_client, checkout_settings.database_name)
        async with AsyncExitStack() as stack:
            turns = await turns_of(started["checkout-service"], stack)
            answers = await asyncio.gather(
                *(turns.next().post("/v1/orders", json=body, headers=headers) for _ in range(taps))
            )
    by_status = Counter(a.status_code for a in answers)
    clicked = await events_on_topic(
        checkout_settings.kafka_bootstrap_servers, CHECKOUT.named(checkout_settings.topic_prefix), BuyClicked
    )
    orders = db.orders.count_documents({})
    print(
        f"{taps} concurrent taps of one key over 2 instances: answers {dict(by_status)}, orders {orders}, "
        f"BuyClicked {len(clicked)}, stock left {stock_left(db)}"
    )
    assert by_status == {201: 1, 200: taps - 1}
    assert len({a.json()["order_id"] for a in answers}) == 1
    assert orders == 1 and len(clicked) == 1 and stock_left(db) == 3
