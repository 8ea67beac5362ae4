"""The unit of work: every state change of an aggregate, with the events it causes, is one
conditional write of one document.

A service keeps each aggregate (a tweet, a merchant, a buyer's profile, an order) in one MongoDB
document. A change is decided by a pure function of the aggregate as it is (``decide``), which
answers the new state and the events to publish, or None for "nothing changes". The store then
writes, in one atomic update conditional on the version it read:

- the new state and its version + 1;
- the events, appended to the document's outbox (``buybutton.outbox.OutboxRelay`` publishes
  them), each with the aggregate's next sequence number and an id derived from the aggregate's
  id and what caused it (the cause, or for a command without one the new version);
- the inbox mark of the cause (the incoming event's id, or a request's idempotency key), so a
  redelivered cause finds its mark and changes nothing, re-emitting nothing new.

A write that loses a race (another instance changed the aggregate first) reads again and
decides again, after a short random pause; after ``attempts`` lost races it raises
ConcurrentChange, a transient failure that callers retry. Nothing here assumes it is the only
instance: correctness rests on the database's single-document atomicity alone (the
conformance suite in tests/conformance).

Document shape: ``{_id, <state fields>, version, sequence, inbox: [cause ids, newest last],
outbox: [{event_id, sequence, event}], outbox_pending, lease}`` — the names in RESERVED are the
store's; everything else is the aggregate's state. The inbox keeps the last ``inbox_size``
causes of each aggregate.

``InMemoryAggregateStore`` keeps the same rules in a dict, for unit tests of handlers that need
no database; ``MongoAggregateStore`` is the real one.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from buybutton.events import Event
from buybutton.faults import TransientFailure
from buybutton.sensitive import card_free_derived

RESERVED = frozenset({"_id", "version", "sequence", "inbox", "outbox", "outbox_pending", "lease"})
EVENT_ID_NAMESPACE = uuid.UUID("6f1d3c2e-8f5b-4a59-9d67-2b8f0c4e7a10")
DEFAULT_INBOX_SIZE = 200
MAX_RACE_BACKOFF_S = 0.05


class ConcurrentChange(TransientFailure):
    """The aggregate kept changing under this writer; trying again later will succeed."""


@dataclass(frozen=True)
class Aggregate:
    """An aggregate as read: ``state`` None and ``version`` 0 when it does not exist yet; version 0
    with a state when it was stored before the unit of work (no version field yet)."""

    id: str
    state: Mapping[str, Any] | None
    version: int = 0
    sequence: int = 0
    inbox: tuple[str, ...] = ()

    @property
    def exists(self) -> bool:
        return self.state is not None


@dataclass(frozen=True)
class Change:
    """What ``decide`` answers: the aggregate's whole new state and the events it causes."""

    state: Mapping[str, Any]
    events: Sequence[Event] = ()


@dataclass(frozen=True)
class Outcome:
    """What a call of ``apply`` did. ``committed`` False: nothing was written, either because
    ``decide`` answered None or because the cause had already been applied (``duplicate``)."""

    aggregate: Aggregate
    events: tuple[Event, ...] = ()
    committed: bool = False
    duplicate: bool = False


Decide = Callable[[Aggregate], Change | None]


def derived_event_id(basis: str, event_type: str, index: int) -> str:
    """The id of the ``index``-th event of ``event_type`` caused by ``basis`` (an aggregate and
    its cause, see ``prepare``): the same cause of the same aggregate always yields the same
    ids, so a re-emission can be recognised by every reader. Never card-shaped (a scan for card
    data finds none, and no id is refused as one)."""
    name = f"{basis}/{event_type}/{index}"
    return card_free_derived(
        lambda attempt: str(uuid.uuid5(EVENT_ID_NAMESPACE, name if attempt == 0 else f"{name}/{attempt}"))
    )


def outbox_entry(event: Event) -> dict[str, Any]:
    return {"event_id": event.event_id, "sequence": event.sequence, "event": event.model_dump(mode="json")}


@dataclass(frozen=True)
class PreparedCommit:
    """The write a change turns into (pure: computed before any I/O)."""

    before: Aggregate
    after: Aggregate
    events: tuple[Event, ...]
    cause: str | None
    removed_fields: tuple[str, ...] = field(default=())


def prepare(
    aggregate: Aggregate, change: Change, *, cause: str | None, inbox_size: int = DEFAULT_INBOX_SIZE
) -> PreparedCommit:
    """Number the events after the aggregate's sequence, give them derived ids, and mark the
    cause in the inbox (its newest ``inbox_size`` causes)."""
    unknown = RESERVED & set(change.state)
    if unknown:
        raise ValueError(f"state fields {sorted(unknown)} are reserved for the unit of work")
    version = aggregate.version + 1
    # the aggregate is part of the basis: one cause fanned out to several aggregates must not
    # give their events one id, or readers deduplicating by event_id would keep only one
    basis = json.dumps([aggregate.id, cause if cause is not None else version])
    events = tuple(
        event.model_copy(
            update={
                "event_id": derived_event_id(basis, event.event_type, index),
                "sequence": aggregate.sequence + index + 1,
            }
        )
        for index, event in enumerate(change.events)
    )
    inbox = (aggregate.inbox + ((cause,) if cause is not None else ()))[-inbox_size:]
    after = Aggregate(aggregate.id, dict(change.state), version, aggregate.sequence + len(events), inbox)
    removed = tuple(sorted(set(aggregate.state or {}) - set(change.state)))
    return PreparedCommit(aggregate, after, events, cause, removed)


class AggregateStore(ABC):
    """Applies decisions to aggregates, one conditional write each (see the module's doc)."""

    def __init__(self, *, inbox_size: int = DEFAULT_INBOX_SIZE) -> None:
        self.inbox_size = inbox_size

    @abstractmethod
    def load(self, aggregate_id: str) -> Aggregate: ...

    @abstractmethod
    def _write(self, commit: PreparedCommit) -> bool:
        """Write ``commit`` if the aggregate is still at ``commit.before``'s version and has not
        seen the cause; False when it is not (someone else wrote first)."""

    def apply(
        self, aggregate_id: str, decide: Decide, *, cause: str | None = None, attempts: int = 16
    ) -> Outcome:
        """Decide on the aggregate as it is and commit the change; see the module's doc. A lost
        race waits a random, growing moment (at most MAX_RACE_BACKOFF_S) before reading again,
        so that many writers of one aggregate take turns instead of colliding again."""
        for attempt in range(attempts):
            if attempt:
                time.sleep(random.uniform(0, min(MAX_RACE_BACKOFF_S, 0.001 * 2**attempt)))  # noqa: S311 (jitter)
            aggregate = self.load(aggregate_id)
            if cause is not None and cause in aggregate.inbox:
                return Outcome(aggregate, duplicate=True)
            change = decide(aggregate)
            if change is None:
                return Outcome(aggregate)
            commit = prepare(aggregate, change, cause=cause, inbox_size=self.inbox_size)
            if self._write(commit):
                return Outcome(commit.after, commit.events, committed=True)
        raise ConcurrentChange(f"{aggregate_id} kept changing during {attempts} attempts")


def _aggregate_of(aggregate_id: str, document: Mapping[str, Any] | None) -> Aggregate:
    if document is None:
        return Aggregate(aggregate_id, None)
    return Aggregate(
        aggregate_id,
        {k: v for k, v in document.items() if k not in RESERVED},
        int(document.get("version", 0)),  # 0: a document written before it had a version
        int(document.get("sequence", 0)),
        tuple(document.get("inbox", ())),
    )


class MongoAggregateStore(AggregateStore):
    """Aggregates as documents of one collection."""

    def __init__(
        self, collection: Collection[dict[str, Any]], *, inbox_size: int = DEFAULT_INBOX_SIZE
    ) -> None:
        super().__init__(inbox_size=inbox_size)
        self.collection = collection

    def load(self, aggregate_id: str) -> Aggregate:
        document = self.collection.find_one({"_id": aggregate_id}, {"outbox": 0, "lease": 0})
        return _aggregate_of(aggregate_id, document)

    def _write(self, commit: PreparedCommit) -> bool:
        after, entries = commit.after, [outbox_entry(e) for e in commit.events]
        assert after.state is not None
        if not commit.before.exists:
            return self._insert(commit, entries)
        # version 0: a document stored before the unit of work, without a version field yet
        condition: dict[str, Any] = {"_id": after.id, "version": commit.before.version or None}
        update: dict[str, Any] = {
            "$set": {**after.state, "version": after.version, "sequence": after.sequence}
        }
        if commit.removed_fields:
            update["$unset"] = dict.fromkeys(commit.removed_fields, "")
        if entries:
            update["$push"] = {"outbox": {"$each": entries}}
            update["$set"]["outbox_pending"] = True
        if commit.cause is not None:
            condition["inbox"] = {"$ne": commit.cause}
            update.setdefault("$push", {})["inbox"] = {"$each": [commit.cause], "$slice": -self.inbox_size}
        return self.collection.update_one(condition, update).matched_count == 1

    def _insert(self, commit: PreparedCommit, entries: list[dict[str, Any]]) -> bool:
        after = commit.after
        assert after.state is not None
        document = {
            "_id": after.id,
            **after.state,
            "version": after.version,
            "sequence": after.sequence,
            "inbox": list(after.inbox),
            "outbox": entries,
            "outbox_pending": bool(entries),
        }
        try:
            self.collection.insert_one(document)
        except DuplicateKeyError:
            return False
        return True


class InMemoryAggregateStore(AggregateStore):
    """The same rules over a dict, for unit tests of handlers (no database). ``published``
    collects every committed event in commit order, as the relay would send them."""

    def __init__(self, *, inbox_size: int = DEFAULT_INBOX_SIZE) -> None:
        super().__init__(inbox_size=inbox_size)
        self.documents: dict[str, Aggregate] = {}
        self.published: list[Event] = []
        self._lock = threading.Lock()

    def load(self, aggregate_id: str) -> Aggregate:
        with self._lock:
            return copy.deepcopy(self.documents.get(aggregate_id, Aggregate(aggregate_id, None)))

    def _write(self, commit: PreparedCommit) -> bool:
        with self._lock:
            current = self.documents.get(commit.after.id, Aggregate(commit.after.id, None))
            if current.version != commit.before.version or (commit.cause in current.inbox):
                return False
            after = commit.after
            self.documents[after.id] = Aggregate(
                after.id,
                copy.deepcopy(after.state),
                after.version,
                after.sequence,
                after.inbox,
            )
            self.published.extend(commit.events)
            return True
