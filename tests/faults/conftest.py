"""Fixtures of the fault tests: ``figures`` prints a test's counts (what it injected, what went
wrong) and repeats them in a "fault figures" section at the end of the run. The private
components they kill and restart (``private_kafka``, ``private_mongo``) come from
devstack.pytest_fixtures."""

from __future__ import annotations

import pytest
from faults_support import FIGURES, Figures


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
        terminalreporter.section("fault figures")
        for line in lines:
            terminalreporter.write_line(line)
