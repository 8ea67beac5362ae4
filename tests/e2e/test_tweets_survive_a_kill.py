"""Nothing a merchant was told is posted gets lost: tweet-service is killed with SIGKILL while
merchants post product tweets (the outbox relay may not have sent them yet); once restarted on
the same database, every tweet answered 201 reaches the tweets topic. Figures: tweets
acknowledged before the kill, lost (must be 0), delivered twice (allowed: at-least-once, readers
deduplicate by event_id)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from tweet_support import PUDDLE, publish_rules, raincoat, rules

from buybutton.auth import TokenIssuer
from buybutton.kafka.codec import decode
from buybutton.topics import TWEETS
from devstack.endpoints import Endpoints
from devstack.service_process import running_service
from devstack.testing import read_all, read_until

KILL_AFTER = 25
POSTERS = 4


@dataclass
class Posting:
    acknowledged: list[str] = field(default_factory=list)
    enough: asyncio.Event = field(default_factory=asyncio.Event)
    killed: asyncio.Event = field(default_factory=asyncio.Event)


async def post_until_killed(http: httpx.AsyncClient, key: str, posting: Posting) -> None:
    while not posting.killed.is_set():
        try:
            response = await http.post(
                f"/v1/merchants/{PUDDLE}/tweets", headers={"X-Api-Key": key}, json=raincoat()
            )
        except httpx.TransportError:
            return  # the service died under this request: it was never acknowledged
        assert response.status_code == 201, response.text
        posting.acknowledged.append(response.json()["tweet_id"])
        if len(posting.acknowledged) >= KILL_AFTER:
            posting.enough.set()


async def register_puddle(http: httpx.AsyncClient, issuer: TokenIssuer) -> str:
    token = issuer.mint("admin", "admin-grace", audience="tweet-service", scopes=["merchants:write"])
    admin = {"Authorization": f"Bearer {token}"}
    merchant = {"merchant_id": PUDDLE, "name": "Puddle & Co.", "stripe_account_id": "acct_1Puddle"}
    (await http.post("/v1/merchants", headers=admin, json=merchant)).raise_for_status()
    return str((await http.post(f"/v1/merchants/{PUDDLE}/api-keys", headers=admin)).json()["api_key"])


async def test_every_acknowledged_tweet_is_published_after_a_sigkill(
    endpoints: Endpoints,
    registry_topics: str,
    unique_name: str,
    signing_key: tuple[str, str],
    issuer: TokenIssuer,
    mongo_client: Any,
) -> None:
    await publish_rules(endpoints.kafka_bootstrap, registry_topics, rules())
    database = unique_name.replace("-", "_")[:50]
    env = {
        **endpoints.as_env(),
        "ENVIRONMENT": "test",
        "AUTH_PUBLIC_KEY": signing_key[1],
        "KAFKA_TOPIC_PREFIX": registry_topics,
        "TWEET_MONGODB_DATABASE": database,
        "LOG_LEVEL": "WARNING",
        # the relay's first round finds nothing, then it waits: what is posted meanwhile is
        # still in the outbox when the kill comes (a restarted relay sends at once)
        "TWEET_OUTBOX_IDLE_S": "20",
    }
    posting = Posting()
    try:
        with running_service("tweet-service", env) as first:
            async with httpx.AsyncClient(base_url=first.url, timeout=10) as http:
                key = await register_puddle(http, issuer)
                posters = [asyncio.create_task(post_until_killed(http, key, posting)) for _ in range(POSTERS)]
                await asyncio.wait_for(posting.enough.wait(), timeout=30)
                first.process.kill()  # SIGKILL: no shutdown, no last relay round
                posting.killed.set()
                await asyncio.gather(*posters)
        wanted = {tweet_id.encode() for tweet_id in posting.acknowledged}
        sent_before_restart = {
            r.key for r in await read_all(endpoints.kafka_bootstrap, TWEETS.named(registry_topics))
        }
        with running_service("tweet-service", env):
            records = await read_until(
                endpoints.kafka_bootstrap,
                TWEETS.named(registry_topics),
                lambda found: wanted <= {r.key for r in found},
                timeout_s=30,
            )
    finally:
        mongo_client.drop_database(database)
    lost = wanted - {r.key for r in records}
    twice = sum(count > 1 for count in Counter(decode(r.value, r.headers).event_id for r in records).values())
    pending = len(wanted - sent_before_restart)
    print(
        f"\n{len(wanted)} tweets acknowledged before the kill, {pending} of them still in the outbox"
        f" at the kill; lost {len(lost)}; delivered twice {twice}"
    )
    assert pending > 0, "the kill must find tweets still in the outbox, or it tests nothing"
    assert not lost
