"""The one way events are written to Kafka: an idempotent producer with acks=all.

``EventPublisher.publish`` returns only when the broker has acknowledged the record on every
in-sync replica, so a caller that commits or answers afterwards never loses an event it
reported as sent. Topic names come from the registry, behind the settings' prefix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer

from buybutton.events import Event
from buybutton.kafka.codec import Headers, encode
from buybutton.topics import topic_for

PRODUCER_SETTINGS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    "request_timeout_ms": 30_000,
    "retry_backoff_ms": 100,
}


def create_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent, acks=all producer (not started: ``await producer.start()``)."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap_servers, client_id=client_id, **PRODUCER_SETTINGS)


class EventPublisher:
    """Publishes events to their registry topic; owns a started producer."""

    def __init__(self, producer: AIOKafkaProducer, *, topic_prefix: str = "") -> None:
        self.producer = producer
        self.topic_prefix = topic_prefix

    @classmethod
    async def start(cls, bootstrap_servers: str, *, client_id: str, topic_prefix: str = "") -> EventPublisher:
        producer = create_producer(bootstrap_servers, client_id=client_id)
        await producer.start()
        return cls(producer, topic_prefix=topic_prefix)

    async def stop(self) -> None:
        await self.producer.stop()

    def topic_name(self, event: Event) -> str:
        return topic_for(event).named(self.topic_prefix)

    async def publish(self, event: Event) -> None:
        """Write one event and wait for the broker's acknowledgement."""
        record = encode(event)
        await self.producer.send_and_wait(
            self.topic_name(event), value=record.value, key=record.key, headers=record.headers
        )

    async def publish_all(self, events: Iterable[Event]) -> None:
        """Write events and wait until every one is acknowledged. Records for one partition
        leave in the order given (the producer batches per partition, idempotently)."""
        pending = []
        for event in events:
            record = encode(event)
            pending.append(
                await self.producer.send(
                    self.topic_name(event), value=record.value, key=record.key, headers=record.headers
                )
            )
        await asyncio.gather(*pending)

    async def publish_raw(
        self, topic: str, *, key: bytes | None, value: bytes | None, headers: Headers
    ) -> None:
        """Write bytes as they are (dead letters and their replay)."""
        await self.producer.send_and_wait(topic, value=value, key=key, headers=list(headers))
