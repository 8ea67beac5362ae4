"""One bounded attempt at something the consume loop waits for (a handler, a dead letter).

An attempt that outlasts its timeout is cancelled and fails with ``AttemptTimedOut``, a
``TimeoutError`` and so transient: a hung dependency is retried like one that is away. If the
loop is told to stop first, the attempt is cancelled and fails with ``Abandoned``: the record
stays uncommitted and is delivered again later, never skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class Abandoned(Exception):
    """The record is left uncommitted: the loop is stopping or its partition was handed over."""


class AttemptTimedOut(TimeoutError):
    """An attempt took longer than its timeout and was cancelled."""


async def attempt(call: Callable[[], Awaitable[Any]], *, timeout_s: float, stopping: asyncio.Event) -> Any:
    """Run ``call()`` to its result, unless it outlasts ``timeout_s`` or ``stopping`` is set."""
    running = asyncio.ensure_future(call())
    stop_wait = asyncio.ensure_future(stopping.wait())
    try:
        done, _ = await asyncio.wait(
            {running, stop_wait}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
    except BaseException:
        running.cancel()
        raise
    finally:
        stop_wait.cancel()
    if running in done:
        return running.result()
    running.cancel()
    # a call that ignores cancellation must not hold the loop: do not wait for it, only make
    # sure its eventual outcome is collected
    running.add_done_callback(_collect)
    if stopping.is_set():
        raise Abandoned("stopping during the attempt")
    raise AttemptTimedOut(f"attempt took longer than {timeout_s:g} s and was cancelled")


def _collect(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
