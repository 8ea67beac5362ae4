"""The offset a consume loop with lanes may commit for one partition: its low watermark.

Records of one partition are settled out of offset order when their keys run in different
lanes. The committed offset must never pass a record that is not settled, so a crash delivers
again everything unsettled (and whatever was settled beyond the first gap, which handlers'
event_id dedupe absorbs). The watermark is therefore the offset of the first fetched record
not settled yet, or one past the last fetched record when all are settled. Offsets need not
be contiguous (transaction markers and compaction leave gaps): only fetched records count.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Set


def low_watermark(fetched: Iterable[int], settled: Set[int]) -> int | None:
    """The first of ``fetched`` (ascending offsets) not in ``settled``, else one past the last;
    None when nothing was fetched."""
    last = None
    for offset in fetched:
        if offset not in settled:
            return offset
        last = offset
    return None if last is None else last + 1


class Watermark:
    """One partition's fetched records, in offset order, and which of them are settled."""

    def __init__(self) -> None:
        self._unsettled_or_later: deque[int] = deque()  # fetched offsets from the first gap on
        self._settled: set[int] = set()
        self._next: int | None = None  # one past the last fetched offset

    def fetched(self, offset: int) -> bool:
        """Track a fetched record; False (and nothing tracked) for one at or below the last
        fetched, which is tracked already."""
        if self._next is not None and offset < self._next:
            return False
        self._unsettled_or_later.append(offset)
        self._next = offset + 1
        return True

    def settled(self, offset: int) -> None:
        self._settled.add(offset)
        pending = self._unsettled_or_later
        while pending and pending[0] in self._settled:
            self._settled.discard(pending.popleft())

    @property
    def offset(self) -> int | None:
        """What may be committed: every fetched record below it is settled."""
        if self._unsettled_or_later:
            return self._unsettled_or_later[0]
        return self._next

    @property
    def unsettled(self) -> int:
        """Fetched records at or beyond the first gap (settled or not)."""
        return len(self._unsettled_or_later)
