"""Fixtures of the fault tests: ``figures`` prints a test's counts (what it injected, what went
wrong) and repeats them in a "fault figures" section at the end of the run. The private
components they kill and restart (``private_kafka``, ``private_mongo``) come from
devstack.pytest_fixtures."""

from __future__ import annotations

import pytest
from faults_support import FIGURES
from figure_book import Figures
from shop_fixtures import shop_setup  # noqa: F401  (a fixture)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    return FIGURES.recorder(request)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    FIGURES.summary(terminalreporter, config)
