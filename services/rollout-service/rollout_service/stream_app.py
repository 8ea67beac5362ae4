"""The Faust app that keeps the rules: a table (rule name -> the RolloutChanged's JSON bytes, see
processor.stored_value) whose changelog topic IS the compacted ``rollout.rules.v1``, and one
agent that reads ``rollout.commands.v1`` and hands each record to the RulesProcessor. Values are
kept as raw bytes, so a record on the topic that is not a rule never stalls the table's
recovery: it is recovered as it is and read as no rule.

Consumes: rollout.commands.v1 (raw bytes; consumer group = the app id) and, to recover the
table at start, rollout.rules.v1. Produces: RolloutChanged on rollout.rules.v1 (with the
event_type / schema_version headers), dead letters on rollout.commands.v1.rollout-service.dlq.
Built from settings when the service starts (never at import), as buybutton.kafka.streams
builds every faust app.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import faust
from faust.tables.table import Table
from faust.types import AgentT, CodecArg
from faust.types.tuples import FutureMessage

from buybutton.events import RolloutChanged
from buybutton.kafka.codec import EVENT_TYPE_HEADER, SCHEMA_VERSION_HEADER
from buybutton.kafka.consumer import RetryPolicy
from buybutton.kafka.streams import start_stream_app, stop_stream_app, stream_app
from buybutton.topics import ROLLOUT, ROLLOUT_COMMANDS
from rollout_service.agent import CommandAgent
from rollout_service.audit import AuditTrail
from rollout_service.config import Settings
from rollout_service.processor import RulesProcessor

RULE_HEADERS = [
    (EVENT_TYPE_HEADER, RolloutChanged.type_name().encode()),
    (SCHEMA_VERSION_HEADER, str(RolloutChanged.version()).encode()),
]


class EventTable(Table[str, bytes]):
    """A table whose changelog records carry the event headers every consumer expects.
    Faust's ``Collection.send_changelog`` sends no headers; this override is the same call
    with ``headers=`` added, key and value written raw (rule name as utf-8, the stored JSON)."""

    def send_changelog(
        self,
        partition: int | None,
        key: Any,
        value: Any,
        key_serializer: CodecArg | None = None,
        value_serializer: CodecArg | None = None,
    ) -> FutureMessage:
        return self.changelog_topic.send_soon(
            key=key,
            value=value,
            partition=partition,
            headers=None if value is None else RULE_HEADERS,
            key_serializer="raw",
            value_serializer="raw",
            callback=self._on_changelog_sent,
            eager_partitioning=True,
        )


@dataclass
class RulesStream:
    app: faust.App
    table: EventTable
    commands: CommandAgent
    agent: AgentT[bytes]

    async def start(self, timeout_s: float) -> None:
        """Start, the table recovered from the topic; TimeoutError after ``timeout_s``."""
        await start_stream_app(self.app, timeout_s)

    def problem(self) -> str | None:
        """What keeps the rules from changing, or None: for the health check."""
        if self.app.crashed:
            return "the rules processor crashed"
        if self.commands.stuck_since is not None:
            return f"a rollout command has failed for {time.monotonic() - self.commands.stuck_since:.0f} s"
        return None

    async def stop(self) -> None:
        await stop_stream_app(self.app)


def build_rules_stream(
    settings: Settings, audit: AuditTrail, *, retry: RetryPolicy | None = None
) -> RulesStream:
    app = stream_app(
        settings.consumer_group_id,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
    )
    prefix = settings.topic_prefix
    rules_topic = app.topic(
        ROLLOUT.named(prefix),
        key_type=str,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        internal=False,
    )
    commands_topic = app.topic(
        ROLLOUT_COMMANDS.named(prefix), key_serializer="raw", value_serializer="raw", internal=False
    )
    table = EventTable(
        app,
        name="rules",
        default=None,
        partitions=1,
        changelog_topic=rules_topic,
        key_type=str,
        value_type=bytes,
    )
    app.tables.add(table)
    processor = RulesProcessor(table, audit, producer=settings.service_name)
    commands = CommandAgent(
        processor,
        app,
        group_id=settings.consumer_group_id,
        dead_letter_topic=ROLLOUT_COMMANDS.dlq_named(prefix, settings.service_name),
        retry=retry,
    )
    agent = app.agent(commands_topic, name="apply-rollout-commands")(commands.run)
    return RulesStream(app, table, commands, agent)
