"""Two instances each of tweet-service, vault-service and rollout-service (processes on one
database, one topic prefix, one consumer group) under concurrent load through their HTTP APIs,
consecutive requests alternating between the instances:

- tweet-service: restocks and price changes racing on shared tweets, and merchant updates (the
  compacted tweet.merchants.v1);
- vault-service: profile saves, two writers per buyer at once;
- rollout-service: rule changes (the compacted rollout.rules.v1) from two admins at once.

Once both relays are idle (no outbox pending in any collection) and every accepted rule change
is on the rules topic, each topic is read to its end and checked against what was answered and
what is stored: 0 lost updates (stored stock = units of the restocks answered 200 = units on the
topic; every accepted change counted in its aggregate's stored sequence), 0 events lost (every
stored sequence number on its topic), no event read after a newer one of its key, repeats only
under the same event id, the last record of each key its newest (on the compacted topics: what
compaction keeps), and the stored state equal to the newest event of each key. Figures: answers
by request and status, then per topic events expected and read, lost, duplicates, order
violations.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from faults_support import read_events
from figure_book import Figures
from instances_support import Tally, running_instances, turns_of
from pymongo import MongoClient
from two_instances_checks import Findings, check_merchants, check_profiles, check_rules, check_tweets
from two_instances_load import (
    BUYERS,
    EXPECTED_ANSWERS,
    MERCHANT_UPDATERS,
    PRICE_CHANGERS,
    RESTOCKERS,
    RULE_CHANGERS,
    RULES,
    Accepted,
    Callers,
    change_prices,
    change_rules,
    restock,
    save_profiles,
    set_up,
    update_merchants,
)
from vault_support import KEY_V1

from buybutton.auth import TokenIssuer
from buybutton.topics import MERCHANTS, ROLLOUT, TWEETS, VAULT
from devstack.endpoints import Endpoints
from devstack.testing import read_all, read_until, wait_for

SETTLE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Databases:
    tweet: str
    vault: str
    rollout: str


@pytest.fixture
def platform_env(
    endpoints: Endpoints,
    registry_topics: str,
    unique_name: str,
    signing_key: tuple[str, str],
    mongo_client: MongoClient[dict[str, Any]],
    tmp_path: Path,
) -> Iterator[tuple[dict[str, str], Databases]]:
    database = unique_name.replace("-", "_")[:40]
    databases = Databases(f"{database}_tweet", f"{database}_vault", f"{database}_rollout")
    env = {
        **endpoints.as_env(),
        "ENVIRONMENT": "test",
        "AUTH_PUBLIC_KEY": signing_key[1],
        "KAFKA_TOPIC_PREFIX": registry_topics,
        "LOG_LEVEL": "WARNING",
        "TWEET_MONGODB_DATABASE": databases.tweet,
        "VAULT_MONGODB_DATABASE": databases.vault,
        "VAULT_MASTER_KEYS": f"1:{KEY_V1}",
        "VAULT_KEYSTORE_PATH": str(tmp_path / "vault-keystore" / "keys.sqlite3"),  # one file, both instances
        "ROLLOUT_MONGODB_DATABASE": databases.rollout,
        "ROLLOUT_CONSUMER_GROUP": f"{unique_name}-rollout-service",
        "ROLLOUT_COMMAND_TIMEOUT_S": "10",
    }
    yield env, databases
    for name in (databases.tweet, databases.vault, databases.rollout):
        mongo_client.drop_database(name)


async def settle(
    bootstrap: str, prefix: str, mongo: MongoClient[dict[str, Any]], dbs: Databases, done: Accepted
) -> None:
    """Until no outbox is pending anywhere and every accepted rule change is on the rules topic."""
    outboxes = [mongo[dbs.tweet]["tweets"], mongo[dbs.tweet]["merchants"], mongo[dbs.vault]["profiles"]]
    await wait_for(
        lambda: sum(c.count_documents({"outbox_pending": True}) for c in outboxes) == 0,
        timeout_s=SETTLE_TIMEOUT_S,
        what="the relays of both instances idle",
    )
    wanted = set().union(*done.rule_commands.values())
    await read_until(
        bootstrap,
        ROLLOUT.named(prefix),
        lambda records: wanted <= {item.event.causation_id for item in read_events(records)},
        timeout_s=SETTLE_TIMEOUT_S,
    )


async def test_two_instances_of_each_service_lose_nothing_under_concurrent_load(
    platform_env: tuple[dict[str, str], Databases],
    endpoints: Endpoints,
    issuer: TokenIssuer,
    mongo_client: MongoClient[dict[str, Any]],
    figures: Figures,
) -> None:
    env, dbs = platform_env
    callers, tally, done = Callers(issuer), Tally(), Accepted()
    buyers = [f"buyer-drill-{n}" for n in range(BUYERS)]
    reader = callers.admin("rollout-service", "rollout:read")
    with running_instances(["rollout-service", "vault-service", "tweet-service"], env) as instances:
        async with AsyncExitStack() as stack:
            tweets = await turns_of(instances["tweet-service"], stack)
            vault = await turns_of(instances["vault-service"], stack)
            rollout = await turns_of(instances["rollout-service"], stack)
            tweet_ids = await set_up(tweets, rollout, callers, tally, done)
            amounts, names, percentages = itertools.count(5_001), itertools.count(1), itertools.count(1)
            await asyncio.gather(
                *(restock(tweets, callers, tweet_ids, tally, done) for _ in range(RESTOCKERS)),
                *(
                    change_prices(tweets, callers, tweet_ids, amounts, tally, done)
                    for _ in range(PRICE_CHANGERS)
                ),
                *(update_merchants(tweets, callers, names, tally, done) for _ in range(MERCHANT_UPDATERS)),
                *(save_profiles(vault, callers, b, writer, tally, done) for b in buyers for writer in (1, 2)),
                *(change_rules(rollout, callers, percentages, tally, done) for _ in range(RULE_CHANGERS)),
            )
            await settle(endpoints.kafka_bootstrap, env["KAFKA_TOPIC_PREFIX"], mongo_client, dbs, done)
            in_force = {
                rule: [(await c.get(f"/v1/rules/{rule}", headers=reader)).json() for c in rollout.clients]
                for rule in RULES
            }
            shown = {
                buyer: [
                    (await c.get("/v1/me/profile", headers=callers.buyer(buyer))).json()[
                        "shipping_addresses"
                    ][0]["recipient"]
                    for c in vault.clients
                ]
                for buyer in buyers
            }
    prefix = env["KAFKA_TOPIC_PREFIX"]
    read = {
        topic.name: read_events(await read_all(endpoints.kafka_bootstrap, topic.named(prefix)))
        for topic in (TWEETS, MERCHANTS, VAULT, ROLLOUT)
    }
    stored = {
        name: {d["_id"]: d for d in mongo_client[db][name].find({}, {"outbox": 0, "inbox": 0})}
        for db, name in ((dbs.tweet, "tweets"), (dbs.tweet, "merchants"), (dbs.vault, "profiles"))
    }
    findings = Findings()
    check_tweets(findings, read[TWEETS.name], stored["tweets"], done)
    check_merchants(findings, read[MERCHANTS.name], stored["merchants"], done)
    check_profiles(findings, read[VAULT.name], stored["profiles"], shown, done)
    check_rules(findings, read[ROLLOUT.name], in_force, done)
    figures(f"answers {dict(sorted(tally.answers.items()))}")
    for line in findings.figures:
        figures(line)
    figures(
        f"stored state against answers and newest events: {findings.comparisons} comparisons, "
        f"{len(findings.problems)} problems"
    )
    unexpected = tally.unexpected(EXPECTED_ANSWERS)
    assert not unexpected, f"unexpected answers {unexpected}"
    assert all(
        tally.answers[f"{kind} 200"]
        for kind in ("restock", "price change", "merchant update", "profile save")
    )
    assert not findings.problems, "\n".join(findings.problems)
