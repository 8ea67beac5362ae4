"""The load of the two-instance test (test_two_instances.py): what an admin, a merchant and
buyers ask of two instances of each service, in turns, and what the services accepted.

Every change asked for is a real change (a new price, a new name, a new percentage), so each
answer 200 must leave exactly one event. ``Accepted`` keeps what was answered as done: units
and counts per tweet, updates per merchant, saves per buyer and the recipient of each writer's
last save, rule commands accepted (200, or 202 when still queued).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from instances_support import Tally, Turns
from tweet_support import GALOSH, PUDDLE, raincoat
from vault_support import buyer_profile

from buybutton.auth import TokenIssuer

BROLLY = "merchant-brolly-ltd"
SHARED_TWEETS = 3
RESTOCKERS, RESTOCKS_EACH = 6, 30
PRICE_CHANGERS, PRICE_CHANGES_EACH = 2, 12
MERCHANT_UPDATERS, UPDATES_EACH = 3, 12
BUYERS, SAVES_EACH = 6, 8  # two writers per buyer
RULES = ("buy-button", "drill-rule")
RULE_CHANGERS, RULE_CHANGES_EACH = 2, 8
STARTING_STOCK = 12  # raincoat-m in tweet_support.raincoat


@dataclass
class Accepted:
    """What the services answered as done (200, or 202 for a queued rule change)."""

    restocks: Counter[str] = field(default_factory=Counter)  # tweet -> restocks
    restocked: Counter[str] = field(default_factory=Counter)  # tweet -> units
    price_changes: Counter[str] = field(default_factory=Counter)  # tweet -> changes
    merchant_updates: Counter[str] = field(default_factory=Counter)  # merchant -> updates
    saves: Counter[str] = field(default_factory=Counter)  # buyer -> saves
    last_saves: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # buyer -> recipients
    rule_commands: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # rule -> ids


@dataclass
class Callers:
    issuer: TokenIssuer
    puddle_key: dict[str, str] = field(default_factory=dict)

    def admin(self, audience: str, *scopes: str) -> dict[str, str]:
        return self._bearer(self.issuer.mint("admin", "admin-grace", audience=audience, scopes=scopes))

    def buyer(self, buyer_id: str) -> dict[str, str]:
        return self._bearer(self.issuer.mint("buyer", buyer_id, audience="vault-service"))

    @staticmethod
    def _bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


async def change_rule(
    rollout: Turns, callers: Callers, rule: str, path: str, body: dict[str, Any], tally: Tally, done: Accepted
) -> None:
    headers = callers.admin("rollout-service", "rollout:write", "rollout:read")
    response = await rollout.next().put(f"/v1/rules/{rule}{path}", headers=headers, json=body)
    if tally.count("rule change", response) in (200, 202):
        done.rule_commands[rule].add(response.json()["command_id"])


async def set_up(tweets: Turns, rollout: Turns, callers: Callers, tally: Tally, done: Accepted) -> list[str]:
    """The rules (Puddle & Co. allow-listed), three merchants, Puddle's key and shared tweets."""
    for rule in RULES:
        rule_body = {"percentage_bps": 10_000, "allowed_sellers": [PUDDLE], "salt": "2014-09-08"}
        await change_rule(rollout, callers, rule, "", rule_body, tally, done)
    admin = callers.admin("tweet-service", "merchants:write")
    for merchant in (PUDDLE, GALOSH, BROLLY):
        body = {"merchant_id": merchant, "name": merchant, "stripe_account_id": "acct_1Drill"}
        (await tweets.next().post("/v1/merchants", headers=admin, json=body)).raise_for_status()
    issued = await tweets.next().post(f"/v1/merchants/{PUDDLE}/api-keys", headers=admin)
    callers.puddle_key = {"X-Api-Key": issued.raise_for_status().json()["api_key"]}
    return [await post_when_allowed(tweets, callers) for _ in range(SHARED_TWEETS)]


async def post_when_allowed(tweets: Turns, callers: Callers) -> str:
    """Post once the instance asked has the rule in its replica (a refused post stores nothing)."""
    for _ in range(200):
        response = await tweets.next().post(
            f"/v1/merchants/{PUDDLE}/tweets", headers=callers.puddle_key, json=raincoat()
        )
        if response.status_code == 201:
            return str(response.json()["tweet_id"])
        assert response.status_code == 403, response.text
        await asyncio.sleep(0.05)
    raise AssertionError("tweet-service's instances never allowed Puddle & Co. to sell")


async def restock(
    tweets: Turns, callers: Callers, tweet_ids: list[str], tally: Tally, done: Accepted
) -> None:
    chance = random.Random()
    for _ in range(RESTOCKS_EACH):
        tweet_id, units = chance.choice(tweet_ids), chance.randint(1, 5)
        path = f"/v1/merchants/{PUDDLE}/tweets/{tweet_id}/variants/raincoat-m/restock"
        response = await tweets.next().post(path, headers=callers.puddle_key, json={"units": units})
        if tally.count("restock", response) == 200:
            done.restocks[tweet_id] += 1
            done.restocked[tweet_id] += units


async def change_prices(
    tweets: Turns,
    callers: Callers,
    tweet_ids: list[str],
    amounts: Iterator[int],
    tally: Tally,
    done: Accepted,
) -> None:
    chance = random.Random()
    for _ in range(PRICE_CHANGES_EACH):
        tweet_id = chance.choice(tweet_ids)
        body = {"price": {"amount_minor": next(amounts), "currency": "USD"}}  # never the price in force
        response = await tweets.next().put(
            f"/v1/merchants/{PUDDLE}/tweets/{tweet_id}/price", headers=callers.puddle_key, json=body
        )
        if tally.count("price change", response) == 200:
            done.price_changes[tweet_id] += 1


async def update_merchants(
    tweets: Turns, callers: Callers, names: Iterator[int], tally: Tally, done: Accepted
) -> None:
    chance, admin = random.Random(), callers.admin("tweet-service", "merchants:write")
    for _ in range(UPDATES_EACH):
        merchant = chance.choice((PUDDLE, GALOSH, BROLLY))
        body = {"name": f"{merchant} #{next(names)}", "fee_bps": chance.randint(100, 900)}
        response = await tweets.next().patch(f"/v1/merchants/{merchant}", headers=admin, json=body)
        if tally.count("merchant update", response) == 200:
            done.merchant_updates[merchant] += 1


async def save_profiles(
    vault: Turns, callers: Callers, buyer: str, writer: int, tally: Tally, done: Accepted
) -> None:
    last = None
    for n in range(SAVES_EACH):
        profile = buyer_profile()
        profile["shipping_addresses"][0]["recipient"] = f"Ada, writer {writer}, save {n:03d}"
        response = await vault.next().put("/v1/me/profile", headers=callers.buyer(buyer), json=profile)
        if tally.count("profile save", response) == 200:
            done.saves[buyer] += 1
            last = profile["shipping_addresses"][0]["recipient"]
    if last is not None:
        done.last_saves[buyer].add(last)


async def change_rules(
    rollout: Turns, callers: Callers, percentages: Iterator[int], tally: Tally, done: Accepted
) -> None:
    for n in range(RULE_CHANGES_EACH):
        body = {"percentage_bps": next(percentages)}  # never the percentage in force
        await change_rule(rollout, callers, RULES[n % len(RULES)], "/percentage", body, tally, done)


EXPECTED_ANSWERS = {
    "rule change 200",
    "rule change 202",
    "restock 200",
    "restock 409",
    "price change 200",
    "price change 409",
    "merchant update 200",
    "merchant update 409",
    "profile save 200",
}
