"""The outbox relay: publishes the events that units of work (buybutton.unit_of_work) stored
beside the state that caused them, and removes them once the broker has acknowledged them.

Any number of relays may run over the same collections (one per service instance). A relay
first claims documents with a lease (on the indexed ``outbox_pending`` flag: only documents
whose lease is absent or expired), publishes their entries
in sequence order and waits for the acknowledgement (acks=all), then removes exactly the entries
it sent and gives the lease back, both conditional on still holding it. So:

- documents are claimed a batch at a time (``_claim``: three database calls for up to
  ``batch_size`` documents) and, once sent, released in one write each;
- an aggregate's events are published by one relay at a time, in sequence order, and a newer
  entry never leaves before an older one of the same aggregate;
- a relay that dies (SIGKILL) leaves its leases to expire, and another relay sends again: at
  least once, with the same event ids and sequence numbers, so readers drop the repeat;
- a document whose publish fails keeps its lease until it expires (its back-off) while the
  relay goes on with the others: one failing document blocks nobody;
- a relay gives up a publish after ``publish_timeout_s``, well inside its lease, so it does not
  send under a lease another relay holds (the producer's request timeout must stay below the
  lease too; see buybutton.kafka.producer.PRODUCER_SETTINGS); the documents of a round are
  published side by side, each judged on its own, so a round lasts at most one
  ``publish_timeout_s`` however many of its documents fail, and no document is sent twice in
  a round.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pymongo.collection import Collection

from buybutton.events import Event, model_for
from buybutton.kafka.producer import EventPublisher

log = structlog.get_logger(__name__)


def event_of(entry: dict[str, Any]) -> Event:
    body = entry["event"]
    return model_for(body["event_type"], int(body["schema_version"])).model_validate(body)


class OutboxRelay:
    """Publishes pending outbox entries of the given collections (see the module's doc)."""

    def __init__(
        self,
        collections: Sequence[Collection[Any]],
        publisher: EventPublisher,
        *,
        lease_s: float = 60.0,
        publish_timeout_s: float = 20.0,
        idle_interval_s: float = 0.2,
        batch_size: int = 100,
    ) -> None:
        if publish_timeout_s >= lease_s:
            raise ValueError("publish_timeout_s must be shorter than lease_s")
        self.collections = list(collections)
        self.publisher = publisher
        self.owner = f"relay-{uuid.uuid4().hex}"
        self.lease = timedelta(seconds=lease_s)
        self.publish_timeout_s = publish_timeout_s
        self.idle_interval_s = idle_interval_s
        self.batch_size = batch_size
        self.published = 0
        self.failed_documents = 0

    def ensure_indexes(self) -> None:
        for collection in self.collections:
            collection.create_index("outbox_pending")

    def _claim(self, collection: Collection[Any]) -> list[dict[str, Any]]:
        """Up to ``batch_size`` documents with entries and no live lease, claimed in three calls
        whatever their number: read candidate ids, lease those still free under this round's
        token in one ``update_many`` (each document's update is atomic, so of two relays that
        read the same ids each document goes to one), read back the ones carrying the token."""
        now = datetime.now(UTC)
        free = {"outbox_pending": True, "$or": [{"lease": None}, {"lease.until": {"$lt": now}}]}
        candidates = [d["_id"] for d in collection.find(free, {"_id": 1}, limit=self.batch_size)]
        if not candidates:
            return []
        lease = {"owner": self.owner, "until": now + self.lease, "round": uuid.uuid4().hex}
        collection.update_many({**free, "_id": {"$in": candidates}}, {"$set": {"lease": lease}})
        mine = {"_id": {"$in": candidates}, "lease.round": lease["round"]}
        return list(collection.find(mine, {"outbox": 1, "lease": 1}))

    def _release(self, collection: Collection[Any], document_id: Any, sent: list[dict[str, Any]]) -> None:
        """Remove the entries sent (as read, so they compare equal; entries added meanwhile
        stay) and give the lease back, if this relay still holds it: one write when nothing was
        added meanwhile (the usual case), else two."""
        mine = {"_id": document_id, "lease.owner": self.owner}
        emptied = {"$set": {"outbox": [], "outbox_pending": False}, "$unset": {"lease": ""}}
        if collection.update_one({**mine, "outbox": sent}, emptied).matched_count:
            return
        collection.update_one(mine, {"$pullAll": {"outbox": sent}, "$unset": {"lease": ""}})
        collection.update_one(
            {"_id": document_id, "outbox": {"$size": 0}, "lease": None}, {"$set": {"outbox_pending": False}}
        )

    async def _publish(self, document: dict[str, Any]) -> None:
        """Publish the entries of ``document`` in sequence order, all read first: an unreadable
        entry sends nothing of its document."""
        entries = sorted(document.get("outbox", []), key=lambda e: e.get("sequence") or 0)
        events = [event_of(entry) for entry in entries]
        await asyncio.wait_for(self.publisher.publish_all(events), self.publish_timeout_s)

    async def _published_of(
        self, collection: Collection[Any], claimed: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The claimed documents whose entries the broker acknowledged. All are published at
        once (the producer batches them) and each is judged on its own: one failing document
        holds back no other, the round ends within one publish timeout (inside the leases), and
        nothing is sent again at once (the records of a publish that timed out may still be on
        their way: the producer keeps retrying them)."""
        outcomes = await asyncio.gather(*(self._publish(d) for d in claimed), return_exceptions=True)
        published: list[dict[str, Any]] = []
        for document, outcome in zip(claimed, outcomes, strict=True):
            if isinstance(outcome, Exception):
                self._log_failed(collection, outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                published.append(document)
        return published

    def _log_failed(self, collection: Collection[Any], error: BaseException) -> None:
        # the lease stays until it expires: that is this document's back-off
        self.failed_documents += 1
        log.warning(
            "outbox document not relayed; retried when its lease expires",
            collection=collection.name,
            error_class=type(error).__name__,
        )

    async def relay_once(self) -> int:
        """Claim up to ``batch_size`` documents per collection, publish, release; the count sent."""
        sent = 0
        for collection in self.collections:
            claimed = await asyncio.to_thread(self._claim, collection)
            if not claimed:
                continue
            for document in await self._published_of(collection, claimed):
                outbox = document.get("outbox", [])
                await asyncio.to_thread(self._release, collection, document["_id"], outbox)
                sent += len(outbox)
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
