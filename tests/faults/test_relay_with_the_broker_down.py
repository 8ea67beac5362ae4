"""A relay round while the broker is down ends within one publish timeout however many documents
it claimed, so a relay never goes on sending documents whose leases have meanwhile passed to
another relay; the documents wait for their leases to expire and are sent once the broker is
back (a private Kafka of this test's own, stopped and started again).

Figures: documents claimed while the broker was down, the round's duration against the lease,
documents whose publish failed, and once the broker is back: lost (must be 0), duplicates (the
records of the failed round that the producer still delivered, sent again after the lease).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from faults_support import judge, provision_on, read_events, sequences_up_to
from figure_book import Figures
from pymongo.database import Database
from tweet_support import PUDDLE, raincoat

from buybutton.kafka.producer import EventPublisher
from buybutton.outbox import OutboxRelay
from buybutton.topics import TWEETS
from devstack.private import PrivateKafka
from devstack.testing import read_all, wait_for
from tweet_service.inputs import TweetIn
from tweet_service.tweets import Tweets

DOCUMENTS = 12
LEASE_S = 6.0
PUBLISH_TIMEOUT_S = 1.5
RELAYED_TIMEOUT_S = LEASE_S + 60.0


def post_tweets(tweets: Tweets, count: int) -> list[str]:
    return [str(tweets.post(PUDDLE, TweetIn.model_validate(raincoat()))["_id"]) for _ in range(count)]


async def test_a_round_with_the_broker_down_ends_inside_the_leases(
    private_kafka: PrivateKafka, mongo_db: Database[dict[str, Any]], unique_name: str, figures: Figures
) -> None:
    prefix = f"{unique_name}."
    await provision_on(private_kafka.bootstrap_servers, prefix, [TWEETS])
    tweets = Tweets(mongo_db)
    publisher = await EventPublisher.start(
        private_kafka.bootstrap_servers, client_id="relay-drill", topic_prefix=prefix
    )
    relay = OutboxRelay([tweets.collection], publisher, lease_s=LEASE_S, publish_timeout_s=PUBLISH_TIMEOUT_S)
    try:
        post_tweets(tweets, 1)
        assert await relay.relay_once() == 1  # the producer now knows the topic's partitions
        stopped_with = await asyncio.to_thread(private_kafka.stop)
        post_tweets(tweets, DOCUMENTS)
        began = time.monotonic()
        await relay.relay_once()
        took = time.monotonic() - began
        failed = relay.failed_documents
        await asyncio.to_thread(private_kafka.start)
        stop = asyncio.Event()
        relaying = asyncio.create_task(relay.run(stop))
        await wait_for(
            lambda: tweets.collection.count_documents({"outbox_pending": True}) == 0,
            timeout_s=RELAYED_TIMEOUT_S,
            what="every outbox relayed once the broker is back",
        )
        stop.set()
        await relaying
    finally:
        await publisher.stop()
    read = read_events(await read_all(private_kafka.bootstrap_servers, TWEETS.named(prefix), timeout_s=60))
    stored = {d["_id"]: d["sequence"] for d in tweets.collection.find({}, {"sequence": 1})}
    verdict = judge(read, sequences_up_to(stored))
    figure = (
        f"broker stopped (exit {stopped_with}) with {DOCUMENTS} documents to relay: the round took "
        f"{took:.1f} s (lease {LEASE_S:.0f} s, publish timeout {PUBLISH_TIMEOUT_S} s), documents failed "
        f"{failed}; after the restart: {verdict.summary}"
    )
    figures(figure)
    assert failed == DOCUMENTS, figure
    assert took < LEASE_S, figure
    assert not verdict.lost, figure
    assert verdict.forks == 0 and verdict.order_violations == 0 and verdict.unexpected == 0, figure
