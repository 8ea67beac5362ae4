"""The outbox relay on the real broker and database server: two relays over one collection under
concurrent writers lose nothing and never put a stale record after a newer one; a dead relay's
leases expire and another relay sends what it held; a document that cannot be published (an
unreadable entry, a record the broker refuses, a topic that never answers) blocks no other,
is not resent with them, and keeps no publish running past its lease."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from pymongo.collection import Collection
from pymongo.database import Database

from buybutton.events import Event, MerchantProfileChanged, TweetWithProductPosted
from buybutton.events.examples import sample_events
from buybutton.kafka.producer import EventPublisher
from buybutton.outbox import OutboxRelay, event_of
from buybutton.topics import MERCHANTS, TWEETS
from buybutton.unit_of_work import Aggregate, Change, MongoAggregateStore, outbox_entry
from devstack.testing import Records, read_all

Published = list[tuple[str, str, int]]


def save_profile(aggregate: Aggregate) -> Change:
    saves = int((aggregate.state or {}).get("saves", 0)) + 1
    saved = MerchantProfileChanged(
        merchant_id=aggregate.id,
        correlation_id=aggregate.id,
        producer="tweet-service",
        name=f"Puddle & Co. save {saves}",
        stripe_account_id="acct_1Puddle",
        fee_bps=saves,
    )
    return Change({"saves": saves}, [saved])


def published(records: Records) -> Published:
    """(key, event_id, sequence) of each record, in offset order per partition."""
    out = []
    for record in records:
        assert record.value is not None
        body = json.loads(record.value)
        out.append((body[MERCHANTS.key], body["event_id"], body["sequence"]))
    return out


def order_report(records: Published) -> tuple[int, list[str]]:
    """Per key, a record may repeat the newest one (same id, same sequence: a resend) but never
    go back to an older sequence. Answers (repeats, what went backwards)."""
    newest: dict[str, tuple[int, str]] = {}
    repeats, backwards = 0, []
    for key, event_id, sequence in records:
        if key in newest and sequence <= newest[key][0]:
            if (sequence, event_id) == newest[key]:
                repeats += 1
            else:
                backwards.append(f"{key}: {sequence} after {newest[key][0]}")
            continue
        newest[key] = (sequence, event_id)
    return repeats, backwards


def committed_events(collection: Collection[Any]) -> set[tuple[str, int]]:
    return {(d["_id"], n) for d in collection.find() for n in range(1, d["sequence"] + 1)}


async def wait_until_relayed(collection: Collection[Any], *, timeout_s: float = 30.0) -> None:
    """Every document's outbox is empty and no longer pending."""
    relayed = {"$or": [{"outbox_pending": True}, {"outbox.0": {"$exists": True}}]}
    deadline = time.monotonic() + timeout_s
    while await asyncio.to_thread(collection.count_documents, relayed):
        assert time.monotonic() < deadline, f"outbox not relayed within {timeout_s} s"
        await asyncio.sleep(0.1)


@pytest.fixture
async def publishers(kafka_bootstrap: str, registry_topics: str) -> AsyncIterator[list[EventPublisher]]:
    started = [
        await EventPublisher.start(kafka_bootstrap, client_id=f"relay-{n}", topic_prefix=registry_topics)
        for n in range(2)
    ]
    try:
        yield started
    finally:
        for publisher in started:
            await publisher.stop()


async def test_two_relays_under_concurrent_writers_lose_nothing_and_keep_sequence_order(
    kafka_bootstrap: str,
    registry_topics: str,
    mongo_db: Database[Any],
    publishers: list[EventPublisher],
    start_writers: Callable[..., Any],
) -> None:
    collection = mongo_db["merchants"]
    merchants = [f"merchant-{n:02d}" for n in range(20)]
    relays = [
        OutboxRelay([collection], p, lease_s=10, publish_timeout_s=5, idle_interval_s=0.05, batch_size=4)
        for p in publishers
    ]
    relays[0].ensure_indexes()
    stop = asyncio.Event()
    running = [asyncio.create_task(relay.run(stop)) for relay in relays]
    try:
        writers = await asyncio.to_thread(
            start_writers, "merchants", merchants, processes=4, threads=2, applies=40
        )
        writers.go()
        counts = await asyncio.to_thread(writers.results)
        await wait_until_relayed(collection)
    finally:
        stop.set()
        await asyncio.gather(*running)

    records = published(await read_all(kafka_bootstrap, MERCHANTS.named(registry_topics)))
    committed = committed_events(collection)
    lost = committed - {(key, sequence) for key, _, sequence in records}
    repeats, backwards = order_report(records)
    last = {key: sequence for key, _, sequence in records}
    stale_last = [m for m in merchants if last.get(m) != collection.find_one({"_id": m})["sequence"]]
    print(
        f"\n4 writers committed {sum(c['committed'] for c in counts)} changes to 20 merchants; relays sent "
        f"{[r.published for r in relays]} entries; topic holds {len(records)} records: lost={len(lost)} "
        f"repeats={repeats} backwards={len(backwards)} stale last record={len(stale_last)}"
    )
    assert len(committed) == sum(c["committed"] for c in counts) == 4 * 2 * 40
    assert not lost
    assert not backwards, backwards[:5]
    assert not stale_last
    assert all(r.published > 0 for r in relays), "both relays took part"
    assert sum(r.published for r in relays) == len(records) - repeats


async def test_a_dead_relays_leases_expire_and_another_relay_sends_what_it_held(
    kafka_bootstrap: str, registry_topics: str, mongo_db: Database[Any], publishers: list[EventPublisher]
) -> None:
    collection = mongo_db["merchants"]
    save_profiles(collection, merchants=5, saves=3)
    dead = OutboxRelay([collection], publishers[0], lease_s=2, publish_timeout_s=1, batch_size=2)
    held = dead._claim(collection)
    assert len(held) == 2
    first_entry = min(held[0]["outbox"], key=lambda e: e["sequence"])
    await publishers[0].publish(event_of(first_entry))  # sent just before the relay died
    lease_until = max(document["lease"]["until"] for document in held)

    live = OutboxRelay([collection], publishers[1], lease_s=2, publish_timeout_s=1)
    assert await live.relay_once() == 3 * 3, "all but the dead relay's documents at once"
    pending = {d["_id"] for d in collection.find({"outbox_pending": True})}
    assert pending == {document["_id"] for document in held}
    rounds = 0
    deadline = time.monotonic() + 15
    while collection.count_documents({"outbox_pending": True}):
        assert time.monotonic() < deadline, "the dead relay's documents were never sent"
        if await live.relay_once():
            assert datetime.now(UTC) > lease_until, "sent while the dead relay's lease held"
        rounds += 1
        await asyncio.sleep(0.1)

    records = published(await read_all(kafka_bootstrap, MERCHANTS.named(registry_topics)))
    repeats, backwards = order_report(records)
    lost = committed_events(collection) - {(key, sequence) for key, _, sequence in records}
    print(
        f"\nrelay died holding {len(held)} leases (6 entries, 1 already sent); the other relay sent them "
        f"after {rounds} more rounds; records={len(records)} lost={len(lost)} repeats={repeats} "
        f"backwards={len(backwards)}"
    )
    assert not lost
    assert len(records) == 15 + 1
    assert live.published == 15


async def limit_record_size(admin: AIOKafkaAdminClient, topic: str, limit: int | None) -> None:
    """Set the tweets topic's max.message.bytes (None: the broker's default) and wait until the
    broker reports it."""
    configs = TWEETS.configs() | ({"max.message.bytes": str(limit)} if limit else {})
    await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)])
    deadline = time.monotonic() + 10
    while True:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        values = {entry[0]: entry[1] for resource in response.resources for entry in resource[4]}
        if (values.get("max.message.bytes") == str(limit)) == (limit is not None):
            return
        assert time.monotonic() < deadline, "topic config not applied"
        await asyncio.sleep(0.1)


def plant(collection: Collection[Any], document_id: str, entry: dict[str, Any]) -> None:
    collection.insert_one(
        {"_id": document_id, "version": 1, "sequence": 1, "outbox": [entry], "outbox_pending": True}
    )


def unreadable_entries() -> dict[str, dict[str, Any]]:
    good = outbox_entry(
        save_profile(Aggregate("merchant-bad", None)).events[0].model_copy(update={"sequence": 1})
    )
    return {
        "merchant-unknown-type": {**good, "event": {**good["event"], "event_type": "MerchantVanished"}},
        "merchant-invalid-fee": {**good, "event": {**good["event"], "fee_bps": 20_000}},
        "merchant-no-event": {"event_id": good["event_id"], "sequence": 1},
    }


def huge_tweet() -> Event:
    tweet = next(e for e in sample_events() if isinstance(e, TweetWithProductPosted))
    product = tweet.product.model_copy(update={"description": "Very yellow. " * 380})
    return tweet.model_copy(update={"product": product, "sequence": 1})


def save_profiles(collection: Collection[Any], *, merchants: int, saves: int) -> None:
    store = MongoAggregateStore(collection)
    for n in range(merchants):
        for _ in range(saves):
            store.apply(f"merchant-{n}", save_profile)


async def test_unreadable_entries_hold_back_no_other_document(
    kafka_bootstrap: str, registry_topics: str, mongo_db: Database[Any], publishers: list[EventPublisher]
) -> None:
    collection = mongo_db["merchants"]
    save_profiles(collection, merchants=8, saves=2)
    for document_id, entry in unreadable_entries().items():
        plant(collection, document_id, entry)

    relay = OutboxRelay([collection], publishers[0], lease_s=3, publish_timeout_s=2)
    sent = await relay.relay_once()
    stuck = {d["_id"] for d in collection.find({"outbox_pending": True})}
    records = published(await read_all(kafka_bootstrap, MERCHANTS.named(registry_topics)))
    repeats, _ = order_report(records)
    print(
        f"\nplanted 3 unreadable entries beside 16 good ones: sent={sent} failed documents="
        f"{relay.failed_documents} records={len(records)} resent={repeats} still pending={sorted(stuck)}"
    )
    assert sent == 16
    assert stuck == set(unreadable_entries())
    assert relay.failed_documents == 3
    assert len(records) == 16 and repeats == 0


async def test_a_record_the_broker_refuses_holds_back_no_other_and_is_sent_once_it_takes_it(
    kafka_bootstrap: str,
    registry_topics: str,
    mongo_db: Database[Any],
    publishers: list[EventPublisher],
    kafka_admin: AIOKafkaAdminClient,
) -> None:
    """The broker refuses the record only after the round's other records are on their way: the
    documents it acknowledged are released, not sent again beside the refused one."""
    collection = mongo_db["merchants"]
    save_profiles(collection, merchants=8, saves=2)
    tweets_topic = TWEETS.named(registry_topics)
    await limit_record_size(kafka_admin, tweets_topic, 2048)
    too_large = huge_tweet()
    plant(collection, "tweet-too-large", outbox_entry(too_large))

    relay = OutboxRelay([collection], publishers[0], lease_s=3, publish_timeout_s=2)
    sent = await relay.relay_once()
    stuck = {d["_id"] for d in collection.find({"outbox_pending": True})}
    records = published(await read_all(kafka_bootstrap, MERCHANTS.named(registry_topics)))
    repeats, backwards = order_report(records)
    print(
        f"\nplanted 1 record over the topic's 2048-byte limit beside 16 good entries: sent={sent} "
        f"failed documents={relay.failed_documents} records={len(records)} resent={repeats} "
        f"backwards={len(backwards)} still pending={sorted(stuck)}"
    )
    assert sent == 16
    assert stuck == {"tweet-too-large"}
    assert relay.failed_documents == 1
    assert len(records) == 16 and repeats == 0 and not backwards, "good documents sent once each"

    await limit_record_size(kafka_admin, tweets_topic, None)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await wait_until_relayed(collection, timeout_s=15)
    finally:
        stop.set()
        await running
    tweets = await read_all(kafka_bootstrap, tweets_topic)
    print(f"once the topic took it: tweets records={len(tweets)} failed documents={relay.failed_documents}")
    assert [json.loads(r.value or b"")["event_id"] for r in tweets] == [too_large.event_id]


async def test_a_round_ends_within_the_lease_when_the_broker_never_answers(
    kafka_bootstrap: str, mongo_db: Database[Any], unique_name: str
) -> None:
    """Publishing to topics the broker does not have waits for metadata that never comes: the
    round must give up on every document together, before any of their leases ends, or this
    relay would still be sending while another one sends the same aggregates."""
    collection = mongo_db["merchants"]
    save_profiles(collection, merchants=4, saves=1)
    nowhere = await EventPublisher.start(
        kafka_bootstrap, client_id="relay", topic_prefix=f"{unique_name}.absent."
    )
    try:
        relay = OutboxRelay([collection], nowhere, lease_s=3, publish_timeout_s=1)
        started = time.monotonic()
        sent = await relay.relay_once()
        elapsed = time.monotonic() - started
    finally:
        await nowhere.stop()
    earliest_lease = min(d["lease"]["until"] for d in collection.find())
    print(
        f"\n4 documents to absent topics: sent={sent} failed={relay.failed_documents}, "
        f"round took {elapsed:.1f} s"
    )
    assert sent == 0 and relay.failed_documents == 4
    assert datetime.now(UTC) < earliest_lease, f"the round took {elapsed:.1f} s, past the 3 s lease"
