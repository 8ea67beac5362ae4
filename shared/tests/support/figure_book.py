"""The figures a suite's tests report (what they injected, what went wrong, rates): each test
prints its lines at once, and the whole run's lines are repeated in a section of their own at
the end, so the figures stand together under pytest's summary.

A suite makes one ``FigureBook(title)``, offers ``book.recorder(request)`` as its ``figures``
fixture and calls ``book.summary(...)`` from its ``pytest_terminal_summary`` hook.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

Figures = Callable[[str], None]  # the ``figures`` fixture: prints a line and keeps it for the summary


class FigureBook:
    def __init__(self, title: str) -> None:
        self.title = title
        self.key = pytest.StashKey[list[str]]()

    def add(self, config: pytest.Config, line: str, *, first: bool = False) -> None:
        lines = config.stash.setdefault(self.key, [])
        lines.insert(0, line) if first else lines.append(line)

    def recorder(self, request: pytest.FixtureRequest) -> Figures:
        def record(line: str) -> None:
            figure = f"{request.node.name}: {line}"
            print(figure)
            self.add(request.config, figure)

        return record

    def summary(self, terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
        lines = config.stash.get(self.key, [])
        if lines:
            terminalreporter.section(self.title)
            for line in lines:
                terminalreporter.write_line(line)
