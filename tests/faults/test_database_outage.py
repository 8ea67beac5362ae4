"""The database server stopped under load for at least OUTAGE_S and started again: nothing is
lost, nothing dead-lettered, nothing forked, and the services say what is wrong meanwhile.

A private SecantusDB (killed with SIGKILL, then started again on the same data) serves one
tweet-service and two vault-service instances (processes, one database each, one consumer
group); the broker is the stack's. Under load the whole time:
- merchants restock shared tweets through tweet-service; an answer 503 (with Retry-After) is
  what an outage may answer, and the client tries again with the same Idempotency-Key, as
  clients are told to (a write the server made before it died is then not made twice);
- checkout's PaymentCaptured events keep arriving for vault-service's view of orders.
Checked afterwards: every PaymentCaptured recorded once (the view holds exactly the orders sent,
each paid), 0 records in the vault group's dead-letter topic, the tweets topic read to its end
has every restock answered 200 with 0 lost, 0 forks (a repeat under a new event id) and 0 order
violations, stored stock equals what was answered, and both vault instances' health checks
reported the outage and cleared it. Figures: the outage, answers by status, events sent,
recorded, dead-lettered, and the tweets topic's verdict.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from faults_support import judge, read_events
from figure_book import Figures
from instances_support import Tally, running_instances, turns_of
from pymongo import MongoClient
from tweet_support import PUDDLE, raincoat
from vault_support import KEY_V1

from buybutton.auth import TokenIssuer
from buybutton.events import PaymentCaptured, RolloutChanged
from buybutton.events.examples import sample_events
from buybutton.kafka.producer import EventPublisher
from buybutton.topics import CHECKOUT, TWEETS
from devstack.endpoints import Endpoints
from devstack.private import PrivateSecantusDB
from devstack.testing import read_all, wait_for

OUTAGE_S = 10.0
TWEET_COUNT = 3
RESTOCKERS = 4
PAYMENT_INTERVAL_S = 0.1  # the load's pace: ten payments a second
STARTING_STOCK = 12  # raincoat-m in tweet_support.raincoat
SETTLE_TIMEOUT_S = 90.0


@pytest.fixture
def outage_env(
    endpoints: Endpoints,
    registry_topics: str,
    unique_name: str,
    signing_key: tuple[str, str],
    private_mongo: PrivateSecantusDB,
    tmp_path: Path,
) -> Iterator[dict[str, str]]:
    database = unique_name.replace("-", "_")[:40]
    yield {
        **endpoints.as_env(),
        "MONGODB_URL": private_mongo.url,
        "MONGODB_TIMEOUT_MS": "2000",  # an operation meets the outage within 2 s, not 10
        "ENVIRONMENT": "test",
        "AUTH_PUBLIC_KEY": signing_key[1],
        "KAFKA_TOPIC_PREFIX": registry_topics,
        "LOG_LEVEL": "WARNING",
        "TWEET_MONGODB_DATABASE": f"{database}_tweet",
        "VAULT_MONGODB_DATABASE": f"{database}_vault",
        "VAULT_MASTER_KEYS": f"1:{KEY_V1}",
        "VAULT_KEYSTORE_PATH": str(tmp_path / "vault-keystore" / "keys.sqlite3"),  # one file, both instances
    }


class Load:
    """What the load asked and what it was answered, while ``running``."""

    def __init__(self) -> None:
        self.running = True
        self.tally = Tally()
        self.units: dict[str, int] = {}
        self.orders: list[str] = []
        self.health: dict[str, int] = {}
        self.unhealthy_seen: set[str] = set()

    async def restock(self, tweets: Any, key: dict[str, str], tweet_ids: list[str]) -> None:
        chance = random.Random()
        while self.running:
            tweet_id, units = chance.choice(tweet_ids), chance.randint(1, 3)
            path = f"/v1/merchants/{PUDDLE}/tweets/{tweet_id}/variants/raincoat-m/restock"
            headers = {**key, "Idempotency-Key": f"restock-{uuid.uuid4().hex}"}
            while True:  # as a client is told: on 503, wait Retry-After and ask again, same key
                try:
                    response = await tweets.next().post(path, headers=headers, json={"units": units})
                except httpx.TimeoutException:
                    self.tally.answers["restock timeout"] += 1
                    continue
                status = self.tally.count("restock", response)
                if status != 503:
                    break
                await asyncio.sleep(float(response.headers["retry-after"]))
            if status == 200:
                self.units[tweet_id] = self.units.get(tweet_id, STARTING_STOCK) + units

    async def pay(self, publisher: EventPublisher) -> None:
        template = next(e for e in sample_events() if isinstance(e, PaymentCaptured))
        while self.running:
            order_id = f"order-outage-{len(self.orders):04d}"
            await publisher.publish(
                template.model_copy(update={"event_id": f"captured-{order_id}", "order_id": order_id})
            )
            self.orders.append(order_id)
            await asyncio.sleep(PAYMENT_INTERVAL_S)

    async def watch_health(self, vault: list[httpx.AsyncClient]) -> None:
        while self.running:
            for client in vault:
                try:
                    status = (await client.get("/healthz")).status_code
                except httpx.HTTPError:
                    status = 0
                self.health[str(client.base_url)] = status
                if status == 503:
                    self.unhealthy_seen.add(str(client.base_url))
            await asyncio.sleep(0.2)


async def post_tweets(tweets: Any, issuer: TokenIssuer) -> tuple[dict[str, str], list[str]]:
    token = issuer.mint("admin", "admin-grace", audience="tweet-service", scopes=["merchants:write"])
    admin = {"Authorization": f"Bearer {token}"}
    body = {"merchant_id": PUDDLE, "name": "Puddle & Co.", "stripe_account_id": "acct_1Outage"}
    (await tweets.next().post("/v1/merchants", headers=admin, json=body)).raise_for_status()
    issued = await tweets.next().post(f"/v1/merchants/{PUDDLE}/api-keys", headers=admin)
    key = {"X-Api-Key": issued.raise_for_status().json()["api_key"]}
    tweet_ids = []
    for _ in range(TWEET_COUNT):
        posted = await tweets.next().post(f"/v1/merchants/{PUDDLE}/tweets", headers=key, json=raincoat())
        assert posted.status_code == 201, posted.text
        tweet_ids.append(posted.json()["tweet_id"])
    return key, tweet_ids


async def test_a_database_outage_under_load_loses_and_dead_letters_nothing(
    outage_env: dict[str, str],
    endpoints: Endpoints,
    issuer: TokenIssuer,
    private_mongo: PrivateSecantusDB,
    figures: Figures,
) -> None:
    prefix = outage_env["KAFKA_TOPIC_PREFIX"]
    publisher = await EventPublisher.start(
        endpoints.kafka_bootstrap, client_id="outage-test", topic_prefix=prefix
    )
    rule = next(e for e in sample_events() if isinstance(e, RolloutChanged))
    await publisher.publish(rule.model_copy(update={"allowed_sellers": [PUDDLE], "percentage_bps": 10_000}))
    load = Load()
    try:
        with (
            running_instances(["tweet-service"], outage_env, count=1) as tweet_instances,
            running_instances(["vault-service"], outage_env, count=2) as vault_instances,
        ):
            async with AsyncExitStack() as stack:
                tweets = await turns_of(tweet_instances["tweet-service"], stack)
                vault = await turns_of(vault_instances["vault-service"], stack)
                key, tweet_ids = await post_tweets(tweets, issuer)
                work = [
                    *(asyncio.create_task(load.restock(tweets, key, tweet_ids)) for _ in range(RESTOCKERS)),
                    asyncio.create_task(load.pay(publisher)),
                    asyncio.create_task(load.watch_health(vault.clients)),
                ]
                await wait_for(lambda: len(load.orders) >= 20, timeout_s=30, what="load under way")
                ended = await asyncio.to_thread(private_mongo.kill)
                down_at = time.monotonic()
                await wait_for(
                    lambda: (
                        time.monotonic() - down_at >= OUTAGE_S
                        and len(load.unhealthy_seen) == len(vault.clients)
                    ),
                    timeout_s=OUTAGE_S + 30,
                    what="both vault instances reporting the outage",
                )
                await asyncio.to_thread(private_mongo.start)
                outage_s = time.monotonic() - down_at
                sent_during_outage = len(load.orders)
                await wait_for(
                    lambda: len(load.orders) >= sent_during_outage + 20, timeout_s=30, what="load after"
                )
                load.running = False
                await asyncio.gather(*work)
                client: MongoClient[dict[str, Any]] = MongoClient(private_mongo.url, tz_aware=True)
                try:
                    orders = client[outage_env["VAULT_MONGODB_DATABASE"]]["orders"]
                    tweets_stored = client[outage_env["TWEET_MONGODB_DATABASE"]]["tweets"]
                    await wait_for(
                        lambda: (
                            orders.count_documents({"status": "paid"}) >= len(load.orders)
                            and tweets_stored.count_documents({"outbox_pending": True}) == 0
                        ),
                        timeout_s=SETTLE_TIMEOUT_S,
                        what="every payment recorded and the relay idle",
                    )
                    recorded = sorted(d["_id"] for d in orders.find({"status": "paid"}, {"_id": 1}))
                    stored = {d["_id"]: d for d in tweets_stored.find({}, {"outbox": 0, "inbox": 0})}
                finally:
                    client.close()
                healthy_after = dict(load.health)
    finally:
        await publisher.stop()

    dead = await read_all(endpoints.kafka_bootstrap, CHECKOUT.dlq_named(prefix, "vault-service"))
    read = read_events(await read_all(endpoints.kafka_bootstrap, TWEETS.named(prefix)))
    restocks = [r for r in read if r.event.event_type == "ProductRestocked"]
    expected = {(tid, seq): None for tid, doc in stored.items() for seq in range(1, doc["sequence"] + 1)}
    verdict = judge(read, expected)
    stock = {
        tid: next(v["stock"] for v in doc["product"]["variants"] if v["variant_id"] == "raincoat-m")
        for tid, doc in stored.items()
    }

    figures(
        f"database killed (exit {ended}) for {outage_s:.1f} s under load; answers "
        f"{dict(sorted(load.tally.answers.items()))}; PaymentCaptured sent {len(load.orders)}, "
        f"recorded {len(recorded)}, dead-lettered {len(dead)}; restock events {len(restocks)}; "
        f"tweets topic: {verdict.summary}"
    )
    assert ended == -9, "the fault injected is a SIGKILL of the database server"
    assert load.tally.answers["restock 503"] > 0, "the outage must have been met by requests"
    assert load.tally.answers["restock 200"] > 0
    assert set(load.tally.answers) <= {"restock 200", "restock 503", "restock timeout"}, load.tally.answers
    assert recorded == sorted(set(load.orders)), "every payment recorded exactly once"
    assert not dead, f"{len(dead)} records dead-lettered for a transient cause"
    assert not verdict.lost and verdict.forks == 0 and verdict.order_violations == 0, verdict.summary
    assert stock == {tid: load.units.get(tid, STARTING_STOCK) for tid in tweet_ids}, "stored stock = answered"
    assert load.unhealthy_seen == set(healthy_after), "every vault instance reported the outage"
    assert set(healthy_after.values()) == {200}, f"health after the outage: {healthy_after}"
