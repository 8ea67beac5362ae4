"""Baseline: one produce -> consume hop on the broker, with the platform's producer settings
(acks=all, idempotent) and consumer settings (group, manual commit), against a plain
acks=1 producer measured in the same run.

Prints p50/p99 hop latency (one record in flight) and throughput (records sent as fast as the
producer batches them, until the consumer has read them all), and writes
bench/results/kafka-baseline.json, which later benchmarks divide by.

    make bench-kafka            (or: python bench/kafka_hop.py, with KAFKA_BOOTSTRAP_SERVERS set)
    BENCH_LATENCY_N / BENCH_THROUGHPUT_N   how many records (default 2000 / 50000)
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from buybutton.kafka.consumer import CONSUMER_SETTINGS
from buybutton.kafka.producer import create_producer

RESULTS = Path(__file__).parent / "results" / "kafka-baseline.json"
PAYLOAD = b"x" * 512  # about the size of a BuyClicked event


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def start_consumer(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"bench-{topic}", **CONSUMER_SETTINGS
    )
    await consumer.start()
    while not consumer.assignment():  # wait for the group to hand us the partition
        await consumer.getmany(timeout_ms=100)
    return consumer


async def hop_latencies(
    producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, topic: str, count: int
) -> list[float]:
    latencies = []
    for n in range(count):
        sent_at = time.perf_counter()
        await producer.send_and_wait(topic, PAYLOAD, key=str(n).encode())
        received = False
        while not received:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, records in batches.items():
                received = True
                await consumer.commit({tp: records[-1].offset + 1})
        latencies.append((time.perf_counter() - sent_at) * 1000)
    return latencies


async def throughput(producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, topic: str, count: int) -> float:
    began = time.perf_counter()
    pending = [await producer.send(topic, PAYLOAD, key=str(n % 64).encode()) for n in range(count)]
    await asyncio.gather(*pending)
    read = 0
    while read < count:
        batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
        for tp, records in batches.items():
            read += len(records)
            await consumer.commit({tp: records[-1].offset + 1})
    return count / (time.perf_counter() - began)


async def measure(
    bootstrap: str, label: str, producer: AIOKafkaProducer, latency_n: int, throughput_n: int
) -> dict[str, Any]:
    topic = f"bench-{label}-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1)])
    await producer.start()
    consumer = await start_consumer(bootstrap, topic)
    try:
        await hop_latencies(producer, consumer, topic, 50)  # warm-up, not counted
        latencies = await hop_latencies(producer, consumer, topic, latency_n)
        rate = await throughput(producer, consumer, topic, throughput_n)
    finally:
        await consumer.stop()
        await producer.stop()
        await admin.delete_topics([topic])
        await admin.close()
    return {
        "hop_latency_ms": {
            "p50": round(statistics.median(latencies), 3),
            "p99": round(percentile(latencies, 0.99), 3),
            "samples": len(latencies),
        },
        "throughput_records_per_s": round(rate),
        "records": throughput_n,
    }


async def main() -> None:
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    latency_n = int(os.environ.get("BENCH_LATENCY_N", "2000"))
    throughput_n = int(os.environ.get("BENCH_THROUGHPUT_N", "50000"))
    ours = await measure(
        bootstrap, "platform", create_producer(bootstrap, client_id="bench"), latency_n, throughput_n
    )
    plain = await measure(
        bootstrap,
        "plain",
        AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=5),
        latency_n,
        throughput_n,
    )
    result = {
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "payload_bytes": len(PAYLOAD),
        "platform_settings": ours,
        "plain_acks1": plain,
        "ratios_platform_over_plain": {
            "p50": round(ours["hop_latency_ms"]["p50"] / plain["hop_latency_ms"]["p50"], 2),
            "p99": round(ours["hop_latency_ms"]["p99"] / plain["hop_latency_ms"]["p99"], 2),
            "throughput": round(ours["throughput_records_per_s"] / plain["throughput_records_per_s"], 2),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for label, figures in (("platform (acks=all, idempotent)", ours), ("plain (acks=1)", plain)):
        hop = figures["hop_latency_ms"]
        print(
            f"{label:34} hop p50 {hop['p50']:7.2f} ms  p99 {hop['p99']:7.2f} ms  "
            f"throughput {figures['throughput_records_per_s']:>8} records/s"
        )
    print(f"ratios platform/plain: {result['ratios_platform_over_plain']}")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    asyncio.run(main())
