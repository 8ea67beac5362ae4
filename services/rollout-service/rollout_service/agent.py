"""The agent loop over ``rollout.commands.v1``: parse each record with the pydantic model and
let the RulesProcessor apply it at the record's offset.

A record that is no command at all is dead-lettered to the group's
``rollout.commands.v1.rollout-service.dlq`` (bytes untouched, reason in headers) and the
partition moves on. A valid command whose handling fails (MongoDB or the broker away) is
retried with backoff for as long as it takes, holding the partition: the commands are the
rules' history, and skipping one would apply the next ones on the wrong state. While it
retries, ``stuck_since`` says since when (the health check reports it). No exception leaves the
loop: Faust would ack the record anyway. Yields how each record was handled (applied, rejected,
dead-lettered), for test_context().
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import faust
import structlog
from aiokafka.structs import ConsumerRecord
from faust.types.tuples import Message

from buybutton.kafka.consumer import RetryPolicy
from buybutton.kafka.dead_letters import dead_letter_headers
from rollout_service.processor import PoisonCommand, RulesProcessor, parse_command

log = structlog.get_logger(__name__)
Handled = Literal["applied", "rejected", "dead-lettered"]


class CommandAgent:
    def __init__(
        self,
        processor: RulesProcessor,
        app: faust.App,
        *,
        group_id: str,
        dead_letter_topic: str,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.processor = processor
        self.app = app
        self.group_id = group_id
        self.dead_letter_topic = dead_letter_topic
        self.retry = retry or RetryPolicy(attempts=5, first_backoff_s=0.2, max_backoff_s=5.0)
        self.dead_lettered = 0
        self.stuck_since: float | None = None

    async def run(self, stream: faust.StreamT[bytes]) -> AsyncIterator[Handled]:
        async for event in stream.events():
            yield await self.handle(event.message)

    async def handle(self, message: Message) -> Handled:
        try:
            command = parse_command(message.key, message.value)
        except PoisonCommand as error:
            await self.dead_letter(message, error, attempts=1)
            return "dead-lettered"
        attempt = 0
        while True:
            attempt += 1
            try:
                handled = await self.processor.handle(command, message.offset)
            except Exception as error:
                self.stuck_since = self.stuck_since or time.monotonic()
                log.error("rollout command failed; retrying", attempt=attempt, error=type(error).__name__)
                await asyncio.sleep(self.retry.backoff_s(min(attempt, self.retry.attempts)))
                continue
            self.stuck_since = None
            return "applied" if handled else "rejected"

    async def dead_letter(self, message: Message, error: BaseException, *, attempts: int) -> None:
        record = _as_record(message)
        headers = dead_letter_headers(record, error=error, attempts=attempts, group_id=self.group_id)
        target = self.dead_letter_topic
        await self.app.producer.send_and_wait(target, message.key, message.value, None, None, headers)
        self.dead_lettered += 1
        log.error("rollout command dead-lettered", dlq_topic=target, error_class=type(error).__name__)


def _as_record(message: Message) -> ConsumerRecord[bytes, bytes]:
    headers: Any = message.headers or ()
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    return ConsumerRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp=int(message.timestamp * 1000),
        timestamp_type=message.timestamp_type,
        key=message.key,
        value=message.value,
        checksum=None,
        serialized_key_size=message.serialized_key_size,
        serialized_value_size=message.serialized_value_size,
        headers=pairs,
    )
