"""The unit of work's rules, on the in-memory store (no database): derived event ids, sequence
numbers per aggregate, the inbox that makes a redelivery change nothing, reserved and removed
fields, and ConcurrentChange when a competing writer always wins."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buybutton.events import ProductRestocked
from buybutton.unit_of_work import (
    RESERVED,
    Aggregate,
    Change,
    ConcurrentChange,
    Decide,
    InMemoryAggregateStore,
    PreparedCommit,
    derived_event_id,
    prepare,
)

TWEET = "tweet-raincoat-launch"
OTHER_TWEET = "tweet-umbrella-launch"


def restocked(tweet_id: str, units: int) -> ProductRestocked:
    return ProductRestocked(
        tweet_id=tweet_id,
        correlation_id=tweet_id,
        producer="tweet-service",
        merchant_id="merchant-puddle-and-co",
        product_id="product-raincoat",
        variant_id="raincoat-m",
        units_added=units,
    )


def restock(units: int, *, events: int = 1) -> Decide:
    """Add ``units`` to the aggregate's stock and say so in ``events`` events."""

    def decide(aggregate: Aggregate) -> Change:
        stock = int((aggregate.state or {}).get("stock", 0)) + units
        return Change({"stock": stock}, [restocked(aggregate.id, units) for _ in range(events)])

    return decide


def test_derived_ids_are_a_pure_function_of_basis_type_and_index() -> None:
    first = derived_event_id("evt-1", "ProductRestocked", 0)
    assert first == derived_event_id("evt-1", "ProductRestocked", 0)
    others = {
        derived_event_id("evt-2", "ProductRestocked", 0),
        derived_event_id("evt-1", "ProductPriceChanged", 0),
        derived_event_id("evt-1", "ProductRestocked", 1),
    }
    assert first not in others and len(others) == 3


def test_the_same_cause_yields_the_same_ids_in_any_store_and_other_causes_other_ids() -> None:
    one, two = InMemoryAggregateStore(), InMemoryAggregateStore()
    ids_one = [e.event_id for e in one.apply(TWEET, restock(3, events=2), cause="evt-1").events]
    ids_two = [e.event_id for e in two.apply(TWEET, restock(3, events=2), cause="evt-1").events]
    ids_other = [e.event_id for e in two.apply(TWEET, restock(3, events=2), cause="evt-2").events]
    assert ids_one == ids_two
    assert len(set(ids_one)) == 2
    assert not set(ids_one) & set(ids_other)


def test_one_cause_applied_to_two_aggregates_yields_different_ids() -> None:
    """A cause fanned out to several aggregates of one kind: readers deduplicate by event_id,
    so equal ids would make them drop all events but one."""
    store = InMemoryAggregateStore()
    first = store.apply(TWEET, restock(1), cause="evt-fan-out").events
    second = store.apply(OTHER_TWEET, restock(1), cause="evt-fan-out").events
    assert first[0].event_id != second[0].event_id


def test_sequence_numbers_continue_across_commits_and_are_per_aggregate() -> None:
    store = InMemoryAggregateStore()
    store.apply(TWEET, restock(1, events=2), cause="evt-1")
    store.apply(OTHER_TWEET, restock(1, events=1), cause="evt-1")
    store.apply(TWEET, restock(1, events=0), cause="evt-2")
    store.apply(TWEET, restock(1, events=3), cause="evt-3")
    by_tweet = defaultdict(list)
    for event in store.published:
        by_tweet[event.key].append(event.sequence)
    assert by_tweet == {TWEET: [1, 2, 3, 4, 5], OTHER_TWEET: [1]}
    assert store.load(TWEET).sequence == 5
    assert store.load(TWEET).version == 3


def test_a_redelivered_cause_changes_nothing_and_emits_nothing() -> None:
    store = InMemoryAggregateStore()
    first = store.apply(TWEET, restock(5), cause="evt-1")
    again = store.apply(TWEET, restock(5), cause="evt-1")
    assert first.committed and not first.duplicate
    assert again.duplicate and not again.committed and again.events == ()
    assert store.load(TWEET) == first.aggregate
    assert store.load(TWEET).state == {"stock": 5}
    assert len(store.published) == 1


def test_the_inbox_keeps_the_newest_causes() -> None:
    store = InMemoryAggregateStore(inbox_size=3)
    for n in range(5):
        store.apply(TWEET, restock(1), cause=f"evt-{n}")
    outcome = store.apply(TWEET, restock(1), cause="evt-5")
    assert store.load(TWEET).inbox == ("evt-3", "evt-4", "evt-5")
    assert outcome.aggregate == store.load(TWEET), "the outcome is the aggregate as stored"
    assert store.apply(TWEET, restock(1), cause="evt-4").duplicate


def test_decide_answering_none_writes_nothing() -> None:
    store = InMemoryAggregateStore()
    store.apply(TWEET, restock(2), cause="evt-1")
    before = store.load(TWEET)
    outcome = store.apply(TWEET, lambda _: None, cause="evt-2")
    assert not outcome.committed and not outcome.duplicate and outcome.events == ()
    assert store.load(TWEET) == before, "not even the inbox mark"
    assert not store.apply(OTHER_TWEET, lambda _: None).aggregate.exists
    assert OTHER_TWEET not in store.documents


@pytest.mark.parametrize("field", sorted(RESERVED))
def test_reserved_field_names_are_refused_in_state(field: str) -> None:
    store = InMemoryAggregateStore()
    with pytest.raises(ValueError, match="reserved"):
        store.apply(TWEET, lambda _: Change({"stock": 1, field: "mine"}), cause="evt-1")
    assert TWEET not in store.documents


def test_fields_left_out_of_the_new_state_vanish() -> None:
    store = InMemoryAggregateStore()
    store.apply(TWEET, lambda _: Change({"stock": 1, "paused": True}))
    outcome = store.apply(TWEET, lambda a: Change({"stock": (a.state or {})["stock"] + 1}))
    assert outcome.aggregate.state == {"stock": 2}
    assert store.load(TWEET).state == {"stock": 2}


class AlwaysLosingStore(InMemoryAggregateStore):
    """A competing writer always writes first."""

    def __init__(self) -> None:
        super().__init__()
        self.writes_tried = 0

    def _write(self, commit: PreparedCommit) -> bool:
        self.writes_tried += 1
        return False


def test_concurrent_change_after_the_attempts_when_a_competing_writer_always_wins() -> None:
    store = AlwaysLosingStore()
    with pytest.raises(ConcurrentChange):
        store.apply(TWEET, restock(1), cause="evt-1", attempts=4)
    assert store.writes_tried == 4
    assert store.published == []


class OvertakenStore(InMemoryAggregateStore):
    """When ``overtake_next`` is set, another instance commits a restock of 100 with its own
    cause just before the next write."""

    overtake_next = False

    def _write(self, commit: PreparedCommit) -> bool:
        if self.overtake_next:
            self.overtake_next = False
            assert super()._write(prepare(commit.before, restock(100)(commit.before), cause="evt-other"))
        return super()._write(commit)


def test_a_lost_race_decides_again_on_the_fresh_state() -> None:
    store = OvertakenStore()
    store.apply(TWEET, restock(1), cause="evt-0")
    store.overtake_next = True
    outcome = store.apply(TWEET, restock(5), cause="evt-1")
    assert outcome.committed
    assert outcome.aggregate.state == {"stock": 106}
    assert [e.sequence for e in store.published] == [1, 2, 3]
    assert store.load(TWEET).inbox == ("evt-0", "evt-other", "evt-1")


def test_commands_without_a_cause_get_ids_from_the_aggregate_and_its_version() -> None:
    store = InMemoryAggregateStore()
    first = store.apply(TWEET, restock(1))
    second = store.apply(TWEET, restock(1))
    assert first.events[0].event_id != second.events[0].event_id
    assert store.load(TWEET).inbox == ()

    aggregate = store.load(TWEET)
    change = restock(2, events=2)(aggregate)
    one, two = prepare(aggregate, change, cause=None), prepare(aggregate, change, cause=None)
    assert [e.event_id for e in one.events] == [e.event_id for e in two.events]
    assert [e.sequence for e in one.events] == [3, 4]
    elsewhere = prepare(Aggregate(OTHER_TWEET, aggregate.state, aggregate.version), change, cause=None)
    assert not {e.event_id for e in one.events} & {e.event_id for e in elsewhere.events}


changes = st.lists(
    st.tuples(
        st.sampled_from([TWEET, OTHER_TWEET]),
        st.one_of(st.none(), st.integers(0, 7).map(lambda n: f"evt-{n}")),
        st.integers(0, 3),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(changes)
def test_any_sequence_of_changes_numbers_events_without_gaps_once_per_cause(
    steps: list[tuple[str, str | None, int]],
) -> None:
    store = InMemoryAggregateStore()
    commits: Counter[tuple[str, str | None]] = Counter()
    expected_events: Counter[str] = Counter()
    for tweet, cause, events in steps:
        outcome = store.apply(tweet, restock(1, events=events), cause=cause)
        seen_before = cause is not None and commits[(tweet, cause)] > 0
        assert outcome.duplicate == seen_before
        if outcome.committed:
            commits[(tweet, cause)] += 1
            expected_events[tweet] += events
    for tweet in (TWEET, OTHER_TWEET):
        sequences = [e.sequence for e in store.published if e.key == tweet]
        assert sequences == list(range(1, expected_events[tweet] + 1))
    distinct_causes = {(tweet, cause) for tweet, cause, _ in steps if cause is not None}
    assert {key for key in commits if key[1] is not None} == distinct_causes
    assert all(commits[key] == 1 for key in distinct_causes)
    assert len({e.event_id for e in store.published}) == len(store.published)
