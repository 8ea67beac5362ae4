"""A consumer killed after its side effect but before its commit gets the record again, with
one lane and with eight (then its committed watermark never passes a record it has not
handled, and each order's records are first handled in the order produced); the producer is
idempotent with acks=all."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from consume_support import committed_and_end, interleaved, out_of_key_order, positions

from buybutton.events import BuyClicked
from buybutton.events.examples import sample_events
from buybutton.kafka.producer import PRODUCER_SETTINGS, EventPublisher, create_producer
from buybutton.topics import CHECKOUT

CONSUMER_SCRIPT = Path(__file__).with_name("crashing_consumer.py")


def run_consumer(*args: str, timeout_s: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CONSUMER_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


async def test_consumer_killed_before_commit_gets_the_record_again(
    kafka_bootstrap: str, registry_topics: str, unique_name: str, tmp_path: Path
) -> None:
    click = next(e for e in sample_events() if isinstance(e, BuyClicked))
    publisher = await EventPublisher.start(kafka_bootstrap, client_id="test", topic_prefix=registry_topics)
    await publisher.publish(click)
    await publisher.stop()
    seen = tmp_path / "seen.txt"
    group = f"{unique_name}-checkout"
    args = (kafka_bootstrap, registry_topics, group, str(seen))

    killed = run_consumer(*args, "--crash")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert seen.read_text().split() == [click.event_id]

    restarted = run_consumer(*args)
    assert restarted.returncode == 0, restarted.stderr
    assert seen.read_text().split() == [click.event_id, click.event_id], "redelivered once"

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    await consumer.start()
    try:
        topic = CHECKOUT.named(registry_topics)
        committed = [await consumer.committed(TopicPartition(topic, p)) for p in range(CHECKOUT.partitions)]
    finally:
        await consumer.stop()
    assert sorted(c for c in committed if c is not None) == [1], "committed after the restart"


def start_consumer(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(CONSUMER_SCRIPT), *args], text=True)


async def test_a_consumer_with_lanes_killed_mid_way_never_committed_past_an_unhandled_record(
    kafka_bootstrap: str, registry_topics: str, unique_name: str, tmp_path: Path
) -> None:
    events = interleaved([f"order-crash-{n:02d}" for n in range(12)], 10)
    publisher = await EventPublisher.start(kafka_bootstrap, client_id="test", topic_prefix=registry_topics)
    await publisher.publish_all(events)
    await publisher.stop()
    topic = CHECKOUT.named(registry_topics)
    where = await positions(kafka_bootstrap, topic)
    at = {position: event_id for event_id, position in where.items()}
    seen_file = tmp_path / "seen.txt"
    seen_file.touch()
    group = f"{unique_name}-checkout"
    args = [kafka_bootstrap, registry_topics, group, str(seen_file)]
    samples = 0
    beyond: list[str] = []

    async def sample_commits(process: subprocess.Popen[str], *, timeout_s: float = 60) -> None:
        """While ``process`` runs: every record below a committed offset was handled before.
        A process still running after ``timeout_s`` is killed."""
        nonlocal samples
        deadline = time.monotonic() + timeout_s
        while True:
            if time.monotonic() > deadline:
                process.kill()
            done = process.poll() is not None
            committed, _ = await committed_and_end(kafka_bootstrap, group, topic)
            handled = set(seen_file.read_text().split())
            samples += 1
            for (partition, offset), event_id in at.items():
                if offset < committed[partition] and event_id not in handled:
                    beyond.append(f"{event_id} at {partition}/{offset}, committed {committed[partition]}")
            if done:
                return
            await asyncio.sleep(0.05)

    crashing = start_consumer(*args, "--lanes", "8", "--crash-after", "60")
    await sample_commits(crashing)
    assert crashing.returncode == -signal.SIGKILL
    before_restart = seen_file.read_text().split()
    committed_at_kill, _ = await committed_and_end(kafka_bootstrap, group, topic)
    restarted = start_consumer(*args, "--lanes", "8", "--until", str(len(events)))
    await sample_commits(restarted)
    seen = seen_file.read_text().split()
    repeated = len(seen) - len(set(seen))
    disorder = out_of_key_order(seen, events)
    print(
        f"lanes 8, killed after 60 handlings: {len(before_restart)} handled before the kill, committed "
        f"then {sum(max(c, 0) for c in committed_at_kill.values())}; commits sampled {samples} times, "
        f"beyond an unhandled record {len(beyond)}; after the restart {len(set(seen))} of {len(events)} "
        f"handled, {repeated} twice; out of order {len(disorder)}"
    )
    assert beyond == []
    assert restarted.returncode == 0, "the restart handled every record"
    assert len(before_restart) == 60 and sum(max(c, 0) for c in committed_at_kill.values()) < len(events)
    assert set(seen) == {e.event_id for e in events}, "every record handled at least once"
    assert disorder == [], "each order's records first handled in the order produced"


async def test_producer_is_idempotent_with_acks_all(kafka_bootstrap: str, registry_topics: str) -> None:
    assert PRODUCER_SETTINGS["acks"] == "all"
    assert PRODUCER_SETTINGS["enable_idempotence"] is True
    producer = create_producer(kafka_bootstrap, client_id="settings-check")
    await producer.start()
    try:
        assert producer._sender._acks == -1  # "all" as the wire protocol spells it
        assert producer._txn_manager is not None, "idempotence keeps a producer id and sequence"
        await producer.send_and_wait(CHECKOUT.named(registry_topics), b"{}", key=b"probe")
        assert producer._txn_manager.producer_id >= 0, "the broker granted a producer id"
    finally:
        await producer.stop()
