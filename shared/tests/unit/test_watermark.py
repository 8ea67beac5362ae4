"""The low watermark a consume loop with lanes commits: for any fetched offsets (with gaps, as
transaction markers leave) settled in any order, it is the first fetched offset not settled, or
one past the last fetched when all are; it never passes an unsettled record and never moves
back, and a record fetched again (after a position reset) is not tracked twice."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from buybutton.kafka.watermark import Watermark, low_watermark

fetched_offsets = st.lists(st.integers(0, 500), min_size=1, max_size=60, unique=True).map(sorted)


@given(fetched_offsets, st.data())
def test_the_watermark_is_the_first_unsettled_offset_whatever_the_order_of_settling(
    fetched: list[int], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(fetched))
    settled_order = order[: data.draw(st.integers(0, len(order)))]
    mark = Watermark()
    for offset in fetched:
        mark.fetched(offset)
    settled: set[int] = set()
    previous = mark.offset
    assert previous == fetched[0]
    for offset in settled_order:
        mark.settled(offset)
        settled.add(offset)
        unsettled = [o for o in fetched if o not in settled]
        expected = unsettled[0] if unsettled else fetched[-1] + 1
        assert mark.offset == expected == low_watermark(fetched, settled)
        assert all(o in settled for o in fetched if o < expected), "nothing unsettled below it"
        assert previous is not None and mark.offset >= previous, "it never moves back"
        previous = mark.offset
        assert mark.unsettled == len([o for o in fetched if o >= expected])


@given(st.sets(st.integers(0, 100)))
def test_with_every_offset_from_zero_fetched_the_watermark_is_the_first_gap(settled: set[int]) -> None:
    fetched = range(101)
    first_gap = next(offset for offset in range(102) if offset not in settled)
    assert low_watermark(fetched, settled) == first_gap


def test_nothing_fetched_has_no_watermark_and_a_record_fetched_again_is_not_tracked_twice() -> None:
    mark = Watermark()
    assert mark.offset is None and low_watermark([], set()) is None
    assert mark.fetched(5) and mark.fetched(7)
    mark.settled(5)
    assert not mark.fetched(5) and not mark.fetched(7), "already tracked"
    assert mark.offset == 7 and mark.unsettled == 1
    mark.settled(7)
    assert mark.offset == 8 and mark.unsettled == 0
