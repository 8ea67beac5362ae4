"""Several instances of the platform's services as processes, and clients that take turns
between them.

``running_instances`` starts ``count`` processes of each named service at once (on two cores a
row of six starts would take most of a minute), each with the same environment (so one
database, one topic prefix, one consumer group), and stops them all when the block ends, also
after one failed to start. ``Turns`` hands out the instances' HTTP clients in rotation, so
consecutive requests of a load alternate between instances. ``Tally`` counts answers by what
was asked and the status it got.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass, field

import httpx

from devstack.service_process import RunningService, running_service

START_TIMEOUT_S = 120.0


@contextmanager
def running_instances(
    names: list[str], env: dict[str, str], *, count: int = 2
) -> Iterator[dict[str, list[RunningService]]]:
    """``count`` processes of each service in ``names``, started concurrently."""
    contexts = [
        (name, running_service(name, env, start_timeout_s=START_TIMEOUT_S))
        for name in names
        for _ in range(count)
    ]
    started: dict[str, list[RunningService]] = {}
    failures: list[BaseException] = []
    with ExitStack() as stack:
        with ThreadPoolExecutor(max_workers=len(contexts)) as pool:
            starting = [(name, context, pool.submit(context.__enter__)) for name, context in contexts]
            for name, context, future in starting:
                try:
                    service = future.result()
                except Exception as error:  # that instance stopped itself; the others stop below
                    failures.append(error)
                    continue
                stack.push(context.__exit__)
                started.setdefault(name, []).append(service)
        if failures:
            raise failures[0]
        yield started


@dataclass
class Turns:
    """HTTP clients of a service's instances, handed out in rotation."""

    clients: list[httpx.AsyncClient]
    _turn: Iterator[int] = field(default_factory=itertools.count)

    def next(self) -> httpx.AsyncClient:
        return self.clients[next(self._turn) % len(self.clients)]


async def turns_of(services: list[RunningService], stack: AsyncExitStack) -> Turns:
    clients = [
        await stack.enter_async_context(httpx.AsyncClient(base_url=s.url, timeout=30)) for s in services
    ]
    return Turns(clients)


@dataclass
class Tally:
    answers: Counter[str] = field(default_factory=Counter)

    def count(self, what: str, response: httpx.Response) -> int:
        self.answers[f"{what} {response.status_code}"] += 1
        return response.status_code

    def unexpected(self, expected: set[str]) -> dict[str, int]:
        return {k: v for k, v in self.answers.items() if k not in expected}
