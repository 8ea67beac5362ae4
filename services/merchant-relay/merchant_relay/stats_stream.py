"""The statistics table: a faust-streaming app (group ``merchant-relay-stats``, or
``<RELAY_CONSUMER_GROUP>-stats``) whose agent folds ``relay.merchant-activity.v1`` (MerchantDeliveryChanged,
keyed by merchant) into a table of one record per merchant (merchant_stats.py), and whose
changelog topic is the compacted ``relay.merchant-stats.v1``: key the merchant id, value the
record's JSON. Each instance folds the partitions the group gives it; every instance's merchant
API reads the whole changelog (buybutton.kafka.table_replica.TableReplica), so any instance
answers for any merchant.

Consumes: relay.merchant-activity.v1 (raw bytes, read with the event catalogue; a record that is
no MerchantDeliveryChanged is logged and skipped). Produces: relay.merchant-stats.v1 (the
table's changelog). The fold itself is pure and cannot fail on a readable change; a changelog
write the broker refuses makes faust crash the app before it commits the offsets past it (the
health check then reports it), so no change is skipped.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import faust
import structlog
from faust.tables.table import Table

from buybutton.events import MerchantDeliveryChanged
from buybutton.kafka.codec import PoisonRecord, decode
from buybutton.kafka.streams import start_stream_app, stop_stream_app, stream_app
from buybutton.topics import MERCHANT_ACTIVITY, MERCHANT_STATS
from merchant_relay import merchant_stats

log = structlog.get_logger(__name__)


@dataclass
class StatsStream:
    app: faust.App
    table: Table[bytes, bytes]

    async def start(self, timeout_s: float) -> None:
        await start_stream_app(self.app, timeout_s)

    def problem(self) -> str | None:
        return "the statistics table crashed" if self.app.crashed else None

    async def stop(self) -> None:
        await stop_stream_app(self.app)

    async def fold(self, stream: faust.StreamT[bytes]) -> AsyncIterator[str]:
        """Apply each change to its merchant's record; yields what became of it (for tests)."""
        async for event in stream.events():
            message = event.message
            change = _change_in(message.value)
            if change is None:
                log.error("activity record skipped: not a MerchantDeliveryChanged", offset=message.offset)
                yield "skipped"
                continue
            key = change.merchant_id.encode()
            stored = self.table.get(key)
            record = json.loads(stored) if stored else None
            after = merchant_stats.applied(record, change, message.offset)
            if after is None:
                yield "repeat"
                continue
            self.table[key] = json.dumps(after).encode()
            yield "applied"


def _change_in(value: bytes | None) -> MerchantDeliveryChanged | None:
    try:
        event = decode(value)  # the body names its type; the headers are not needed
    except PoisonRecord:
        return None
    return event if isinstance(event, MerchantDeliveryChanged) else None


def build_stats_stream(
    *, group_id: str, bootstrap_servers: str, client_id: str, topic_prefix: str
) -> StatsStream:
    app = stream_app(group_id, bootstrap_servers=bootstrap_servers, client_id=client_id)
    activity = app.topic(
        MERCHANT_ACTIVITY.named(topic_prefix), key_serializer="raw", value_serializer="raw", internal=False
    )
    changelog = app.topic(
        MERCHANT_STATS.named(topic_prefix),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        internal=False,
    )
    table = Table[bytes, bytes](
        app,
        name="merchant-stats",
        default=None,
        partitions=MERCHANT_STATS.partitions,
        changelog_topic=changelog,
        key_type=bytes,  # bytes both: written raw (the merchant id as utf-8, the record's JSON)
        value_type=bytes,
    )
    app.tables.add(table)
    stream = StatsStream(app, table)
    app.agent(activity, name="fold-merchant-activity")(stream.fold)
    return stream
