"""A crowd of worker processes that race one another against a MongoDB server.

Each worker is a separate process (spawned, so it shares nothing with pytest's process) with a
MongoClient of its own, as every instance of a service has. A race hands every worker one task;
each task calls ``start_line()`` before each contested step, a barrier shared by the whole crowd,
so the workers' requests reach the server together. ``in_threads`` does the same with threads of
one process sharing one client, as a service's request handlers do.

Consumes: a MongoDB URL and a task per worker. Produces: what each worker was told by the
server. Rule: workers only report; the test compares what they were told with what was stored.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.pool import Pool
from multiprocessing.synchronize import Barrier
from typing import Any, TypeVar

from pymongo import MongoClient

CROWD_SIZE = 4
START_LINE_TIMEOUT_S = 60.0
RACE_TIMEOUT_S = 120.0

Result = TypeVar("Result")

_start_line: Barrier | None = None
_clients: dict[str, MongoClient[dict[str, Any]]] = {}


def _join_crowd(start_line_barrier: Barrier) -> None:
    global _start_line
    _start_line = start_line_barrier


def start_line() -> None:
    """Wait until every worker of the crowd is here (in a worker process only)."""
    assert _start_line is not None, "start_line() is for tasks run by a Crowd"
    _start_line.wait(timeout=START_LINE_TIMEOUT_S)


def client(url: str) -> MongoClient[dict[str, Any]]:
    """This process's own client for ``url`` (made once, then reused by its tasks)."""
    if url not in _clients:
        _clients[url] = MongoClient(url, tz_aware=True, serverSelectionTimeoutMS=10_000)
    return _clients[url]


class Crowd:
    """``size`` worker processes, started once and reused by every race."""

    def __init__(self, size: int = CROWD_SIZE) -> None:
        context = multiprocessing.get_context("spawn")
        self.size = size
        self._start_line = context.Barrier(size)
        self._pool: Pool = context.Pool(size, initializer=_join_crowd, initargs=(self._start_line,))

    def race(self, task: Callable[..., Result], arguments: Sequence[tuple[Any, ...]]) -> list[Result]:
        """Run ``task(*arguments[i])`` in worker i, all at once; their results in order.

        Exactly one task per worker: a worker waiting at the start line takes no other task,
        so the ``size`` tasks land on ``size`` different processes."""
        assert len(arguments) == self.size, f"a race takes one task per worker ({self.size})"
        pending = self._pool.starmap_async(task, arguments, chunksize=1)
        try:
            return pending.get(timeout=RACE_TIMEOUT_S)
        except BaseException:
            self._start_line.reset()  # a failed race leaves no worker waiting for the next one
            raise

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()


def in_threads(count: int, work: Callable[[int], Result]) -> list[Result]:
    """``work(i)`` for i in range(count), each in a thread of its own, started together."""
    together = threading.Barrier(count)

    def at_start_line(index: int) -> Result:
        together.wait(timeout=START_LINE_TIMEOUT_S)
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as threads:
        return list(threads.map(at_start_line, range(count)))


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal whole shares (13, 13, 12, 12 for 50 in 4)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
