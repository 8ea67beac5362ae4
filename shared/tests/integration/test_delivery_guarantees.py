"""A consumer killed after its side effect but before its commit gets the record again; the
producer is idempotent with acks=all."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

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
