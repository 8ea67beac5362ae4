"""A service freezes what its start-up built (``buybutton.service.freeze_what_start_up_built``,
called by ``serve`` before it starts serving): the objects alive then are out of the garbage
collector's reach, so full collections under load no longer walk them, and garbage made before
is collected first, not kept for ever."""

from __future__ import annotations

import gc
import weakref

from buybutton.service import freeze_what_start_up_built


class Part:
    """Stands for anything start-up builds (a route, a model, a client)."""

    other: Part | None = None


def test_what_start_up_built_is_frozen_and_its_garbage_collected() -> None:
    built = Part()
    garbage = Part()
    garbage.other = garbage  # a cycle: only the collector frees it
    garbage_ref = weakref.ref(garbage)
    del garbage
    try:
        freeze_what_start_up_built()
        tracked = gc.get_objects()
        assert garbage_ref() is None, "garbage made before start-up ended was frozen instead of freed"
        assert gc.get_freeze_count() > 0
        assert not any(o is built for o in tracked), "an object start-up built is still collected"
    finally:
        gc.unfreeze()
    assert any(o is built for o in gc.get_objects())
