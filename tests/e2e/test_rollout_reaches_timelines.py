"""End to end, with rollout-service and tweet-service running as processes on a real broker and
database: an admin sets the gate through rollout-service, merchants post through tweet-service,
and simulated buyers read their timelines. About 10 % of US buyers see Buy (exactly the ones
the gate's buckets name), nobody outside the US does, a seller taken off the allow-list shows
Buy to nobody, a rule change reaches timelines within a bounded time, and the kill switch hides
every button."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

import httpx
from e2e_support import Platform
from tweet_support import GALOSH, PUDDLE, raincoat

from buybutton.rollout import bucket
from devstack.testing import wait_for

SALT = "2014-09-08"
US_BUYERS = 10_000
PROPAGATION_LIMIT_S = 10.0


def rollout_admin(platform: Platform) -> dict[str, str]:
    return platform.bearer(
        "admin", "admin-grace", "rollout-service", scopes=["rollout:write", "rollout:read"]
    )


def change_rule(platform: Platform, path: str, body: dict[str, Any], method: str = "PUT") -> None:
    response = platform.rollout.request(
        method, f"/v1/rules/buy-button{path}", headers=rollout_admin(platform), json=body
    )
    assert response.status_code == 200, response.text


def register_with_key(platform: Platform, merchant_id: str) -> dict[str, str]:
    admin = platform.bearer("admin", "admin-grace", "tweet-service", scopes=["merchants:write"])
    merchant = {"merchant_id": merchant_id, "name": merchant_id, "stripe_account_id": "acct_1Test"}
    assert platform.tweets.post("/v1/merchants", headers=admin, json=merchant).status_code == 201
    issued = platform.tweets.post(f"/v1/merchants/{merchant_id}/api-keys", headers=admin)
    return {"X-Api-Key": issued.json()["api_key"]}


async def post_product_when_allowed(platform: Platform, merchant_id: str, key: dict[str, str]) -> str:
    """Post once tweet-service's replica has the merchant allow-listed (a refused post stores nothing)."""
    deadline = time.monotonic() + PROPAGATION_LIMIT_S
    while True:
        response = platform.tweets.post(f"/v1/merchants/{merchant_id}/tweets", headers=key, json=raincoat())
        if response.status_code == 201:
            return str(response.json()["tweet_id"])
        assert response.status_code == 403, response.text
        assert time.monotonic() < deadline, f"{merchant_id} not allow-listed in tweet-service in time"
        await asyncio.sleep(0.1)


async def shown_buttons(platform: Platform, buyers: list[tuple[str, str | None]]) -> dict[str, set[str]]:
    """tweet_id -> the buyers whose timeline shows Buy on it, 8 timelines at a time."""
    shown: dict[str, set[str]] = {}
    todo = iter(buyers)

    async def reader(http: httpx.AsyncClient) -> None:
        for buyer_id, country in todo:
            headers = platform.bearer("buyer", buyer_id, "tweet-service", country=country)
            response = await http.get("/v1/timeline", headers=headers, params={"limit": 100})
            assert response.status_code == 200, response.text
            for tweet in response.json()["tweets"]:
                shown.setdefault(tweet["tweet_id"], set())
                if tweet["buy_button"]:
                    shown[tweet["tweet_id"]].add(buyer_id)

    async with httpx.AsyncClient(base_url=str(platform.tweets.base_url), timeout=30) as http:
        await asyncio.gather(*(reader(http) for _ in range(8)))
    return shown


async def seconds_until(change: Callable[[], None], seen: Callable[[], bool], what: str) -> float:
    """Seconds from asking rollout-service for ``change`` until tweet-service shows it."""
    began = time.monotonic()
    change()
    await wait_for(seen, timeout_s=PROPAGATION_LIMIT_S, what=what)
    return time.monotonic() - began


def sees_buy(platform: Platform, tweet_id: str, buyer_id: str, country: str | None = "US") -> bool:
    headers = platform.bearer("buyer", buyer_id, "tweet-service", country=country)
    return bool(platform.tweets.get(f"/v1/tweets/{tweet_id}", headers=headers).json()["buy_button"])


async def test_the_gate_set_through_rollout_service_decides_who_sees_buy(platform: Platform) -> None:
    change_rule(
        platform,
        "",
        {"countries": ["US"], "percentage_bps": 1_000, "allowed_sellers": [PUDDLE, GALOSH], "salt": SALT},
    )
    puddle, galosh = register_with_key(platform, PUDDLE), register_with_key(platform, GALOSH)
    coats = {
        m: await post_product_when_allowed(platform, m, k) for m, k in ((PUDDLE, puddle), (GALOSH, galosh))
    }
    shown_galosh = next(f"buyer-us-{n}" for n in range(US_BUYERS) if bucket(SALT, f"buyer-us-{n}") < 1_000)
    assert sees_buy(platform, coats[GALOSH], shown_galosh), "listed, Galosh's coat shows Buy to this buyer"
    change_rule(platform, "/sellers", {"remove": [GALOSH]}, method="POST")
    await wait_for(
        lambda: not sees_buy(platform, coats[GALOSH], shown_galosh),
        timeout_s=PROPAGATION_LIMIT_S,
        what="Galosh taken off the allow-list in tweet-service",
    )
    refused = platform.tweets.post(f"/v1/merchants/{GALOSH}/tweets", headers=galosh, json=raincoat())
    assert refused.status_code == 403, "a seller off the allow-list attaches no product"

    us_buyers = [f"buyer-us-{n}" for n in range(US_BUYERS)]
    shown = await shown_buttons(platform, [(b, "US") for b in us_buyers])
    expected = {b for b in us_buyers if bucket(SALT, b) < 1_000}
    sigma = math.sqrt(US_BUYERS * 0.1 * 0.9)
    print(f"\n10 % of {US_BUYERS} US buyers: {len(shown[coats[PUDDLE]])} saw Buy (3 sigma = {3 * sigma:.0f})")
    assert shown[coats[PUDDLE]] == expected
    assert abs(len(expected) - US_BUYERS * 0.1) <= 3 * sigma
    assert shown[coats[GALOSH]] == set(), "a seller off the allow-list shows Buy to nobody"

    elsewhere = [(f"buyer-away-{n}", country) for n in range(600) for country in (("GB", "FR", None)[n % 3],)]
    assert not any((await shown_buttons(platform, elsewhere)).values())

    shown_at_10 = sorted(expected)[:300]
    newly = next(b for b in us_buyers if 1_000 <= bucket(SALT, b) < 2_000)
    took = await seconds_until(
        lambda: change_rule(platform, "/percentage", {"percentage_bps": 2_000}),
        lambda: sees_buy(platform, coats[PUDDLE], newly),
        "20 % in tweet-service",
    )
    print(f"percentage change reached tweet-service in {took:.2f} s")
    assert all(sees_buy(platform, coats[PUDDLE], b) for b in shown_at_10), "raising the percentage only adds"

    took = await seconds_until(
        lambda: change_rule(platform, "/kill-switch", {"on": True}),
        lambda: not sees_buy(platform, coats[PUDDLE], newly),
        "kill switch",
    )
    print(f"kill switch reached tweet-service in {took:.2f} s")
    after_kill = await shown_buttons(platform, [(b, "US") for b in shown_at_10])
    assert not any(after_kill.values()), "the kill switch hides every button"
