"""The broker restarted under load (a private Kafka of this test's own, killed with SIGKILL or
stopped with SIGTERM and started again on the same data): nothing acknowledged is lost.

Guarantee 8: one EventPublisher (acks=all, idempotent) publishes a few thousand events over a
dozen keys, each key's events one after another and the keys concurrently, while the broker is
restarted three times. A send that fails (a transient error, or no answer within the attempt's
timeout) is sent again until it is acknowledged. Read to the end afterwards, the topic holds
every acknowledged event. Figures: acknowledged, restarts, sends retried by error class, lost,
duplicates (same event id, allowed), per-key order violations.

The outbox relay: tweet-service's store (its unit of work) commits restocks of shared tweets
from several threads into the shared database while two relays (two service instances) publish
the outbox to the private broker, which is restarted twice (publishes time out during the
restart after SIGKILL, so leases expire and those documents are sent again). Every committed event
(per tweet, sequence 1 up to the stored sequence) reaches the topic; per tweet, no event is read
for the first time after a newer one; repeats carry the same event id (at-least-once), and the
last record of each tweet is its newest (what compaction would keep); the units on the topic add
up to the stock stored. Figures: commits, restarts, documents whose publish failed, records
read, lost, duplicates, order violations, stale repeats (repeats read after a newer event).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import KafkaError
from faults_support import (
    judge,
    keys_whose_last_record_is_not_the_newest,
    provision_on,
    read_events,
    sequences_up_to,
)
from figure_book import Figures
from pymongo.database import Database
from tweet_support import PUDDLE, raincoat

from buybutton.events import ProductRestocked
from buybutton.kafka.producer import EventPublisher
from buybutton.outbox import OutboxRelay
from buybutton.topics import TWEETS
from devstack.private import PrivateKafka
from devstack.testing import read_all, wait_for
from tweet_service.inputs import TweetIn
from tweet_service.tweets import TweetProblem, Tweets

KEYS = 12
EVENTS_PER_KEY = 400
ATTEMPT_TIMEOUT_S = 5.0
RETRY_PAUSE_S = 0.2
RESTARTS = ("SIGKILL", "SIGTERM", "SIGKILL")
PROGRESS_TIMEOUT_S = 120.0
LOAD_DEADLINE_S = 300.0

RESTOCKED_TWEETS = 6
WRITERS = 4
WRITER_PAUSE_S = 0.01
RELAYS = 2
RELAY_RESTARTS = ("SIGKILL", "SIGTERM")
PUBLISHED_BETWEEN_RESTARTS = 200
LEASE_S = 35.0  # above the producer's 30 s request timeout, as buybutton.outbox asks
PUBLISH_TIMEOUT_S = 8.0  # below a restart after SIGKILL (~12 s here): some publishes fail
STARTING_STOCK = 12  # raincoat-m in tweet_support.raincoat


@dataclass
class Publishing:
    total: int
    acknowledged: dict[tuple[str, int], str] = field(default_factory=dict)  # (key, sequence) -> event id
    retried: Counter[str] = field(default_factory=Counter)
    restarts: list[str] = field(default_factory=list)


def restocked(key: str, sequence: int) -> ProductRestocked:
    return ProductRestocked(
        tweet_id=key,
        merchant_id=PUDDLE,
        product_id=f"product-{key}",
        variant_id="raincoat-m",
        units_added=1,
        correlation_id=key,
        producer="fault-drill",
        sequence=sequence,
    )


async def publish_until_acknowledged(
    publisher: EventPublisher, event: ProductRestocked, publishing: Publishing
) -> None:
    while True:
        try:
            await asyncio.wait_for(publisher.publish(event), ATTEMPT_TIMEOUT_S)
        except (KafkaError, TimeoutError) as error:
            publishing.retried[type(error).__name__] += 1
            await asyncio.sleep(RETRY_PAUSE_S)
        else:
            publishing.acknowledged[(event.key, event.sequence or 0)] = event.event_id
            return


async def publish_key(publisher: EventPublisher, key: str, publishing: Publishing) -> None:
    for sequence in range(1, EVENTS_PER_KEY + 1):
        await publish_until_acknowledged(publisher, restocked(key, sequence), publishing)


async def restart(kafka: PrivateKafka, how: str, restarts: list[str], progress: str) -> None:
    ended = await asyncio.to_thread(kafka.restart, kill=how == "SIGKILL")
    restarts.append(f"{how} at {progress} (exit {ended})")


async def restart_while_publishing(kafka: PrivateKafka, publishing: Publishing) -> None:
    for number, how in enumerate(RESTARTS, start=1):
        threshold = publishing.total * number // (len(RESTARTS) + 1)
        await wait_for(
            lambda: len(publishing.acknowledged) >= threshold,  # noqa: B023 (called before the next round)
            timeout_s=PROGRESS_TIMEOUT_S,
            what=f"{threshold} events acknowledged",
        )
        await restart(kafka, how, publishing.restarts, f"{len(publishing.acknowledged)} acknowledged")


async def test_every_acknowledged_event_is_read_back_after_broker_restarts(
    private_kafka: PrivateKafka, unique_name: str, figures: Figures
) -> None:
    prefix = f"{unique_name}."
    await provision_on(private_kafka.bootstrap_servers, prefix, [TWEETS])
    publishing = Publishing(total=KEYS * EVENTS_PER_KEY)
    publisher = await EventPublisher.start(
        private_kafka.bootstrap_servers, client_id="fault-drill", topic_prefix=prefix
    )
    try:
        async with asyncio.timeout(LOAD_DEADLINE_S):
            await asyncio.gather(
                restart_while_publishing(private_kafka, publishing),
                *(publish_key(publisher, f"tweet-drill-{n:02d}", publishing) for n in range(KEYS)),
            )
    finally:
        await publisher.stop()
    records = await read_all(private_kafka.bootstrap_servers, TWEETS.named(prefix), timeout_s=60)
    verdict = judge(read_events(records), publishing.acknowledged)
    figure = (
        f"events acknowledged {len(publishing.acknowledged)} of {publishing.total} over {KEYS} keys; "
        f"restarts injected {len(publishing.restarts)} ({'; '.join(publishing.restarts)}); "
        f"send failures retried {sum(publishing.retried.values())} {dict(publishing.retried)}; "
        f"{verdict.summary}"
    )
    figures(figure)
    assert len(publishing.restarts) == len(RESTARTS), figure
    assert len(publishing.acknowledged) == publishing.total, figure
    assert not verdict.lost, f"{figure}; first lost: {verdict.lost[:5]}"
    assert verdict.forks == 0, figure
    assert verdict.order_violations == 0, figure
    assert verdict.unexpected == 0, figure


@dataclass
class Restocking:
    units: Counter[str] = field(default_factory=Counter)  # tweet id -> units of restocks answered
    commits: int = 0
    kept_changing: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def restock_until_done(tweets: Tweets, tweet_ids: list[str], restocking: Restocking) -> None:
    """Restock random tweets (racing the other writers) until told to stop."""
    chance = random.Random()
    while not restocking.done.is_set():
        tweet_id, units = chance.choice(tweet_ids), chance.randint(1, 5)
        try:
            tweets.restock(PUDDLE, tweet_id, "raincoat-m", units)
        except TweetProblem:  # it kept changing under this writer: nothing was written
            with restocking.lock:
                restocking.kept_changing += 1
            continue
        with restocking.lock:
            restocking.units[tweet_id] += units
            restocking.commits += 1
        restocking.done.wait(WRITER_PAUSE_S)


async def restart_while_relaying(kafka: PrivateKafka, relays: list[OutboxRelay], restarts: list[str]) -> None:
    """Restart the broker each time the relays have published another batch of events, and
    return once they have published as many again after the last restart (they recovered)."""

    def published() -> int:
        return sum(relay.published for relay in relays)

    for how in (*RELAY_RESTARTS, None):
        threshold = published() + PUBLISHED_BETWEEN_RESTARTS
        await wait_for(
            lambda: published() >= threshold,  # noqa: B023 (called before the next round)
            timeout_s=PROGRESS_TIMEOUT_S,
            what=f"{threshold} events relayed",
        )
        if how is not None:
            await restart(kafka, how, restarts, f"{published()} relayed")


async def test_the_outbox_relay_delivers_every_committed_event_through_broker_restarts(
    private_kafka: PrivateKafka, mongo_db: Database[dict[str, Any]], unique_name: str, figures: Figures
) -> None:
    prefix = f"{unique_name}."
    await provision_on(private_kafka.bootstrap_servers, prefix, [TWEETS])
    tweets = Tweets(mongo_db)
    await asyncio.to_thread(tweets.ensure_indexes)
    tweet_ids = [
        str(tweets.post(PUDDLE, TweetIn.model_validate(raincoat()))["_id"]) for _ in range(RESTOCKED_TWEETS)
    ]
    publishers = [
        await EventPublisher.start(
            private_kafka.bootstrap_servers, client_id=f"relay-{n}", topic_prefix=prefix
        )
        for n in range(RELAYS)
    ]
    relays = [
        OutboxRelay([tweets.collection], p, lease_s=LEASE_S, publish_timeout_s=PUBLISH_TIMEOUT_S)
        for p in publishers
    ]
    stop_relays, restocking, restarts = asyncio.Event(), Restocking(), list[str]()
    relaying = [asyncio.create_task(relay.run(stop_relays)) for relay in relays]
    writing = [
        asyncio.create_task(asyncio.to_thread(restock_until_done, tweets, tweet_ids, restocking))
        for _ in range(WRITERS)
    ]
    try:
        await restart_while_relaying(private_kafka, relays, restarts)
        restocking.done.set()
        await asyncio.gather(*writing)
        await wait_for(
            lambda: tweets.collection.count_documents({"outbox_pending": True}) == 0,
            timeout_s=LEASE_S + PROGRESS_TIMEOUT_S,
            what="every outbox relayed",
        )
    finally:
        restocking.done.set()
        stop_relays.set()
        await asyncio.gather(*relaying, *writing, return_exceptions=True)
        for publisher in publishers:
            await publisher.stop()
    stored = {d["_id"]: d for d in tweets.collection.find({}, {"sequence": 1, "product.variants": 1})}
    read = read_events(await read_all(private_kafka.bootstrap_servers, TWEETS.named(prefix), timeout_s=60))
    verdict = judge(read, sequences_up_to({tweet_id: d["sequence"] for tweet_id, d in stored.items()}))
    units_read: Counter[str] = Counter()
    for item in {item.event.event_id: item for item in read}.values():
        if isinstance(item.event, ProductRestocked):
            units_read[item.key] += item.event.units_added
    units_stored = Counter(
        {tweet_id: d["product"]["variants"][0]["stock"] - STARTING_STOCK for tweet_id, d in stored.items()}
    )
    figure = (
        f"restocks committed {restocking.commits} ({restocking.kept_changing} gave up racing) by {WRITERS} "
        f"writers on {RESTOCKED_TWEETS} tweets, {RELAYS} relays; restarts injected {len(restarts)} "
        f"({'; '.join(restarts)}); documents whose publish failed "
        f"{sum(r.failed_documents for r in relays)}; {verdict.summary}; units answered "
        f"{restocking.units.total()}, stored {units_stored.total()}, on the topic {units_read.total()}"
    )
    figures(figure)
    assert len(restarts) == len(RELAY_RESTARTS), figure
    assert not verdict.lost, f"{figure}; first lost: {verdict.lost[:5]}"
    assert verdict.forks == 0, figure
    assert verdict.order_violations == 0, figure
    assert verdict.unexpected == 0, figure
    assert not keys_whose_last_record_is_not_the_newest(read), figure
    assert units_stored == restocking.units == units_read, figure
