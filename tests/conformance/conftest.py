"""Fixtures of the MongoDB conformance suite: the server under test (the session's MongoDB
endpoint), a crowd of worker processes racing against it, and ``figures``, which prints a test's
measured figures and repeats them in a "MongoDB conformance figures" section at the end of the
run, under the name and version of the server they were measured on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conformance_crowd import Crowd
from conformance_server import FIGURES, Server
from figure_book import Figures
from pymongo import MongoClient

from devstack.endpoints import Endpoints


@pytest.fixture(scope="session")
def server(endpoints: Endpoints, pytestconfig: pytest.Config) -> Server:
    probe: MongoClient[dict[str, object]]
    with MongoClient(endpoints.mongodb_url, serverSelectionTimeoutMS=10_000) as probe:
        version = str(probe.server_info().get("version", "unknown"))
    found = Server(endpoints.mongodb_url, version)
    FIGURES.add(pytestconfig, f"server under test: {found.label}", first=True)
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
    return FIGURES.recorder(request)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    FIGURES.summary(terminalreporter, config)
