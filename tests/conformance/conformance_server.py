"""The server under test and the figures measured on it.

``Server`` names the MongoDB endpoint the suite runs against (its URL, without credentials when
shown, and the version it reports); ``Figures`` is the type of the ``figures`` fixture, which
prints a test's figures and keeps them for the run's summary under ``FIGURES``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

FIGURES = pytest.StashKey[list[str]]()

Figures = Callable[[str], None]


@dataclass(frozen=True)
class Server:
    url: str
    version: str

    @property
    def label(self) -> str:
        without_credentials = re.sub(r"//[^/@]*@", "//", self.url)
        return f"{without_credentials} (reports MongoDB {self.version})"
