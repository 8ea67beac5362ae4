"""Fixtures of the MongoDB conformance suite: the server under test (the session's MongoDB
endpoint), a crowd of worker processes racing against it, and ``figures``, which prints a test's
measured figures and repeats them in a "MongoDB conformance figures" section at the end of the
run, under the name and version of the server they were measured on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conformance_crowd import Crowd
from conformance_server import FIGURES, Figures, Server
from pymongo import MongoClient

from devstack.endpoints import Endpoints


@pytest.fixture(scope="session")
def server(endpoints: Endpoints, pytestconfig: pytest.Config) -> Server:
    probe: MongoClient[dict[str, object]]
    with MongoClient(endpoints.mongodb_url, serverSelectionTimeoutMS=10_000) as probe:
        version = str(probe.server_info().get("version", "unknown"))
    found = Server(endpoints.mongodb_url, version)
    pytestconfig.stash.setdefault(FIGURES, []).insert(0, f"server under test: {found.label}")
    return found


@pytest.fixture(scope="session")
def crowd(server: Server) -> Iterator[Crowd]:
    workers = Crowd()
    try:
        yield workers
    finally:
        workers.close()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    def record(line: str) -> None:
        figure = f"{request.node.name}: {line}"
        print(figure)
        request.config.stash.setdefault(FIGURES, []).append(figure)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.section("MongoDB conformance figures")
        for line in lines:
            terminalreporter.write_line(line)
