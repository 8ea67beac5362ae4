"""The outbox: events stored in the same MongoDB document as the state change that caused them
(one atomic write; FerretDB and MongoDB both guarantee single-document atomicity), then sent to
Kafka by ``OutboxRelay``, which retries until the broker acknowledges and only then removes
them. At-least-once: a crash between the send and the removal sends again; consumers
deduplicate by event_id.

Document shape: ``{..., "outbox": [{"event_id": ..., "event": {...}}], "outbox_pending": true}``.
Write with ``with_outbox`` (an update) or ``new_outbox`` (an inserted document); the indexed
``outbox_pending`` flag lets the relay find pending documents without scanning the collection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import structlog
from pymongo.collection import Collection

from buybutton.events import Event, model_for
from buybutton.kafka.producer import EventPublisher
from buybutton.locks import KeyedLocks

log = structlog.get_logger(__name__)


def outbox_entry(event: Event) -> dict[str, Any]:
    return {"event_id": event.event_id, "event": event.model_dump(mode="json")}


def with_outbox(update: dict[str, Any], *events: Event) -> dict[str, Any]:
    """``update`` (a MongoDB update document) that also appends ``events`` to the outbox."""
    merged = {operator: dict(fields) for operator, fields in update.items()}
    merged.setdefault("$push", {})["outbox"] = {"$each": [outbox_entry(e) for e in events]}
    merged.setdefault("$set", {})["outbox_pending"] = True
    return merged


def new_outbox(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The outbox fields of a document inserted with these pending entries."""
    return {"outbox": entries, "outbox_pending": bool(entries)}


def event_of(entry: dict[str, Any]) -> Event:
    body = entry["event"]
    return model_for(body["event_type"], int(body["schema_version"])).model_validate(body)


class OutboxRelay:
    """Publishes pending outbox entries of the given collections, oldest document first."""

    def __init__(
        self,
        collections: Sequence[Collection[Any]],
        publisher: EventPublisher,
        *,
        idle_interval_s: float = 0.2,
        batch_size: int = 100,
        document_locks: KeyedLocks | None = None,
    ) -> None:
        """``document_locks``: the same locks the service's own writers of these documents hold
        (see buybutton.locks), so that removing sent entries never overwrites their updates."""
        self.document_locks = document_locks or KeyedLocks()
        self.collections = list(collections)
        self.publisher = publisher
        self.idle_interval_s = idle_interval_s
        self.batch_size = batch_size
        self.published = 0

    def ensure_indexes(self) -> None:
        for collection in self.collections:
            collection.create_index("outbox_pending")

    def _pending(self, collection: Collection[Any]) -> list[dict[str, Any]]:
        query = {"outbox_pending": True}
        return list(collection.find(query, {"outbox": 1}).limit(self.batch_size))

    def _remove_sent(self, collection: Collection[Any], document_id: Any, sent: list[dict[str, Any]]) -> None:
        with self.document_locks.hold((collection.name, document_id)):
            collection.update_one({"_id": document_id}, {"$pullAll": {"outbox": sent}})
            collection.update_one(
                {"_id": document_id, "outbox": {"$size": 0}}, {"$set": {"outbox_pending": False}}
            )

    async def relay_once(self) -> int:
        sent = 0
        for collection in self.collections:
            for document in await asyncio.to_thread(self._pending, collection):
                entries = document["outbox"]
                await self.publisher.publish_all([event_of(e) for e in entries])
                # remove exactly the entries sent (as read, so they compare equal); entries
                # added meanwhile stay for the next round. ($pullAll, not a conditional $pull:
                # FerretDB 1.x ignores conditions inside $pull.)
                await asyncio.to_thread(self._remove_sent, collection, document["_id"], entries)
                sent += len(entries)
        self.published += sent
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; a failed round is logged and tried again."""
        while not stop.is_set():
            try:
                sent = await self.relay_once()
            except Exception as error:
                log.warning("outbox relay round failed; will retry", error_class=type(error).__name__)
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_interval_s)
