"""Sold out reaches the tweet's card: tweet-service, vault-service and checkout-service as
processes on the same topics. The merchant registers and posts its raincoat at tweet-service
(one unit of size M); checkout learns the tweet and the merchant's terms from tweet-service's
events alone. A buyer's hold of the last unit makes the buyer's card show the variant sold out
(checkout's StockAvailabilityChanged, consumed by tweet-service); cancelling the hold makes it
buyable again; selling the unit makes it sold out for good.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from checkout_support import PUDDLE
from shop_support import ENDED, Shop, ShopSetup, new_card_confirmation

from buybutton.auth import generate_signing_key
from devstack.service_process import running_service

HOLLY, IVO = "buyer-holly-last-unit", "buyer-ivo-second"
TWEET_SERVICE = "tweet-service"


@pytest.fixture
def tweet_database(shop_setup: ShopSetup, mongo_client: Any) -> Iterator[str]:
    name = shop_setup.config.checkout["CHECKOUT_MONGODB_DATABASE"].removesuffix("_checkout") + "_tweet"
    yield name
    mongo_client.drop_database(name)


def admin(shop: Shop) -> dict[str, str]:
    token = shop.issuer.mint("admin", "admin-grace", audience=TWEET_SERVICE, scopes=("merchants:write",))
    return {"Authorization": f"Bearer {token}"}


def post_last_raincoat(tweets: httpx.Client, shop: Shop) -> str:
    """Puddle & Co. registered at tweet-service with its Stripe account, and its raincoat posted
    with one unit of size M; the new tweet's id."""
    merchant = {
        "merchant_id": PUDDLE,
        "name": "Puddle & Co.",
        "stripe_account_id": "acct_1Puddle",
        "fee_bps": 500,
    }
    assert tweets.post("/v1/merchants", json=merchant, headers=admin(shop)).status_code == 201
    key = tweets.post(f"/v1/merchants/{PUDDLE}/api-keys", headers=admin(shop)).json()["api_key"]
    variants = [
        {"sku": "raincoat-m", "attributes": {"size": "M"}, "stock": 1},
        {"sku": "raincoat-l", "attributes": {"size": "L"}, "stock": 0},
    ]
    product = {
        "title": "Puddle raincoat, the last one",
        "description": "Yellow, seam-sealed, one left in size M.",
        "price": {"amount_minor": 4_999, "currency": "USD"},
        "image_urls": ["https://img.example.com/raincoat.jpg"],
        "kind": "physical",
        "variants": variants,
    }
    body = {"text": "The very last Puddle raincoat in M.", "product": product}
    posted = tweets.post(f"/v1/merchants/{PUDDLE}/tweets", json=body, headers={"X-Api-Key": key})
    assert posted.status_code == 201, posted.text
    return str(posted.json()["tweet_id"])


def wait_until(what: str, probe: Callable[[], bool], timeout_s: float = 30) -> float:
    """Seconds until ``probe()`` holds."""
    started = time.monotonic()
    while not probe():
        assert time.monotonic() - started < timeout_s, f"{what}: not within {timeout_s} s"
        time.sleep(0.2)
    return time.monotonic() - started


def test_the_last_unit_shows_sold_out_on_the_card(shop_setup: ShopSetup, tweet_database: str) -> None:
    env = {
        **shop_setup.config.common,
        "TWEET_MONGODB_DATABASE": tweet_database,
        "TWEET_MERCHANT_TOKEN_SIGNING_KEY": generate_signing_key()[0],
    }
    with (
        shop_setup.open() as shop,
        running_service(TWEET_SERVICE, env) as tweet_service,
        httpx.Client(base_url=tweet_service.url, timeout=30) as tweets,
    ):
        tweet_id = post_last_raincoat(tweets, shop)
        card_headers = {
            "Authorization": f"Bearer {shop.issuer.mint('buyer', IVO, audience=TWEET_SERVICE, country='US')}"
        }

        def sold_out_on_card() -> bool:
            card = tweets.get(f"/v1/tweets/{tweet_id}", headers=card_headers).raise_for_status().json()
            return bool(
                next(v for v in card["product"]["variants"] if v["variant_id"] == "raincoat-m")["sold_out"]
            )

        def tap(buyer_id: str, key: str) -> httpx.Response:
            answer: httpx.Response = shop.tap(buyer_id, key, tweet_id=tweet_id, variant_id="raincoat-m")
            return answer

        before = sold_out_on_card()
        deadline = time.monotonic() + 30
        while (held := tap(HOLLY, "holly-hold")).status_code == 404:  # checkout learning the tweet
            assert time.monotonic() < deadline, held.text
            time.sleep(0.2)
        assert held.status_code == 201, held.text
        held_shown_s = wait_until("sold out once held", sold_out_on_card)
        second = tap(IVO, "ivo-while-held").status_code
        cancelled = shop.client.post(
            f"/v1/orders/{held.json()['order_id']}/cancel", headers=shop.buyer(HOLLY)
        )
        assert cancelled.status_code == 200, cancelled.text
        back_shown_s = wait_until("buyable once cancelled", lambda: not sold_out_on_card())

        bought = tap(IVO, "ivo-buys")
        assert bought.status_code == 201, bought.text
        assert shop.confirm(IVO, bought.json()["order_id"], new_card_confirmation()).status_code == 202
        assert shop.wait_for(IVO, bought.json()["order_id"], ENDED)["state"] == "paid"
        wait_until("sold out once sold", sold_out_on_card)
        after_sale = tap(HOLLY, "holly-too-late").status_code
    print(
        f"\n[sold out] card before {before}; held → sold out on the card in {held_shown_s:.1f} s, another tap"
        f" {second}; cancelled → buyable in {back_shown_s:.1f} s; sold → sold out, a later tap {after_sale}"
    )
    assert before is False and (second, after_sale) == (409, 409)
