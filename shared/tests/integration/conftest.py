"""Fixtures for the shared plumbing's broker and database tests: ``publisher`` (a publisher on
this test's topics) and ``start_writers`` (writer processes, uow_writer.py, applying changes to
merchant aggregates in this test's database, released together; their counts are collected
when they finish)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymongo.database import Database

from buybutton.kafka.producer import EventPublisher
from devstack.endpoints import Endpoints

WRITER_SCRIPT = Path(__file__).with_name("uow_writer.py")


@dataclass
class Writers:
    processes: list[subprocess.Popen[str]]

    def go(self) -> None:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()

    def results(self, *, timeout_s: float = 60) -> list[dict[str, int]]:
        """Each writer's counts, once it has finished."""
        counts = []
        for process in self.processes:
            out, err = process.communicate(timeout=timeout_s)
            assert process.returncode == 0, err[-2000:]
            counts.append(json.loads(out.splitlines()[-1]))
        return counts


StartWriters = Callable[..., Writers]


@pytest.fixture
def start_writers(endpoints: Endpoints, mongo_db: Database[dict[str, object]]) -> Iterator[StartWriters]:
    started: list[subprocess.Popen[str]] = []

    def start(
        collection: str,
        merchants: list[str],
        *,
        processes: int,
        threads: int,
        applies: int,
        cause: str | None = None,
    ) -> Writers:
        command = [sys.executable, str(WRITER_SCRIPT), endpoints.mongodb_url, mongo_db.name, collection]
        command += [",".join(merchants), "--threads", str(threads), "--applies", str(applies)]
        command += ["--cause", cause] if cause is not None else []
        batch = [
            subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(processes)
        ]
        started.extend(batch)
        for process in batch:
            assert process.stdout is not None
            ready = process.stdout.readline()
            assert ready.strip() == "ready", process.stderr.read() if process.stderr else ready
        return Writers(batch)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
async def publisher(kafka_bootstrap: str, registry_topics: str) -> AsyncIterator[EventPublisher]:
    publisher = await EventPublisher.start(
        kafka_bootstrap, client_id="test-publisher", topic_prefix=registry_topics
    )
    try:
        yield publisher
    finally:
        await publisher.stop()
