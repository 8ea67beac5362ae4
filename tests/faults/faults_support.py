"""How the fault tests judge what they read back from a topic.

A test says which events it expects, as (key, sequence) pairs (with the event id when it knows
it), and reads the topic to its end; ``judge`` compares, per key in the order of the key's
partition:

- lost: an expected (key, sequence) never read;
- duplicates: records repeating an event id already read (allowed: at-least-once, readers drop
  them by event id or sequence);
- forks: a (key, sequence) read under more than one event id, or under another id than the one
  expected (a repeat that readers could not recognise);
- order violations: an event read for the first time after a higher sequence of its key (a
  newer state overtaken by an older one);
- stale repeats: a repeat of an event read after a higher sequence of its key (harmless to a
  reader that keeps the highest, but on a compacted topic it can be the record compaction keeps);
- unexpected: a (key, sequence) read that nobody reported as written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from figure_book import FigureBook

from buybutton.events import Event
from buybutton.kafka.codec import decode
from buybutton.kafka.provision import provision, registry_specs
from buybutton.topics import Topic
from devstack.testing import Records

Expected = Mapping[tuple[str, int], str | None]
FIGURES = FigureBook("fault figures")


@dataclass(frozen=True)
class ReadEvent:
    key: str
    event: Event

    @property
    def sequence(self) -> int:
        sequence: int | None = self.event.sequence
        assert sequence is not None, f"{self.event.event_type} of {self.key} has no sequence"
        return sequence


def read_events(records: Records) -> list[ReadEvent]:
    return [ReadEvent(r.key.decode() if r.key else "", decode(r.value, r.headers)) for r in records]


@dataclass(frozen=True)
class Verdict:
    read: int
    expected: int
    lost: tuple[tuple[str, int], ...]
    duplicates: int
    forks: int
    order_violations: int
    stale_repeats: int
    unexpected: int

    @property
    def summary(self) -> str:
        return (
            f"expected {self.expected}, records read {self.read}, lost {len(self.lost)}, "
            f"duplicates {self.duplicates}, forks {self.forks}, order violations {self.order_violations}, "
            f"stale repeats {self.stale_repeats}, unexpected {self.unexpected}"
        )


def judge(read: list[ReadEvent], expected: Expected) -> Verdict:
    ids_at: dict[tuple[str, int], set[str]] = defaultdict(set)
    newest: dict[str, int] = {}
    seen: set[str] = set()
    duplicates = order_violations = stale_repeats = 0
    for item in read:
        at = (item.key, item.sequence)
        ids_at[at].add(item.event.event_id)
        behind = item.sequence < newest.get(item.key, 0)
        if item.event.event_id in seen:
            duplicates += 1
            stale_repeats += behind
        else:
            seen.add(item.event.event_id)
            order_violations += behind
        newest[item.key] = max(newest.get(item.key, 0), item.sequence)
    return Verdict(
        read=len(read),
        expected=len(expected),
        lost=tuple(sorted(at for at in expected if at not in ids_at)),
        duplicates=duplicates,
        forks=sum(_forked(ids, expected.get(at)) for at, ids in ids_at.items()),
        order_violations=order_violations,
        stale_repeats=stale_repeats,
        unexpected=sum(at not in expected for at in ids_at),
    )


def _forked(ids: set[str], expected_id: str | None) -> bool:
    """A (key, sequence) read under several ids, or under another id than the one expected."""
    return len(ids) > 1 or (expected_id is not None and expected_id not in ids)


def newest_per_key(read: list[ReadEvent]) -> dict[str, ReadEvent]:
    """Per key, the event with the highest sequence (what a reader keeping the highest holds)."""
    newest: dict[str, ReadEvent] = {}
    for item in read:
        if item.key not in newest or item.sequence > newest[item.key].sequence:
            newest[item.key] = item
    return newest


def keys_whose_last_record_is_not_the_newest(read: list[ReadEvent]) -> list[str]:
    """Keys of a compacted topic whose last record (the one compaction keeps) is older than
    another record of the key."""
    last: dict[str, ReadEvent] = {item.key: item for item in read}
    newest = newest_per_key(read)
    return sorted(key for key, item in last.items() if item.sequence < newest[key].sequence)


def sequences_up_to(highest: Mapping[str, int]) -> dict[tuple[str, int], str | None]:
    """Every (key, sequence) from 1 to each key's highest: what an aggregate's stored sequence
    says was committed (the unit of work numbers events without gaps)."""
    return {(key, n): None for key, top in highest.items() for n in range(1, top + 1)}


async def provision_on(bootstrap: str, prefix: str, topics: Iterable[Topic]) -> None:
    """The registry's ``topics`` under ``prefix`` on the broker at ``bootstrap`` (a private one:
    it goes with the test, so nothing is deleted)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="fault-tests")
    await admin.start()
    try:
        await provision(admin, registry_specs(prefix, topics))
    finally:
        await admin.close()
