"""The server under test and the figures measured on it.

``Server`` names the MongoDB endpoint the suite runs against (its URL, without credentials when
shown, and the version it reports); ``FIGURES`` is the suite's figure book (figure_book.py), whose
``Figures`` the ``figures`` fixture is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from figure_book import FigureBook

FIGURES = FigureBook("MongoDB conformance figures")


@dataclass(frozen=True)
class Server:
    url: str
    version: str

    @property
    def label(self) -> str:
        without_credentials = re.sub(r"//[^/@]*@", "//", self.url)
        return f"{without_credentials} (reports MongoDB {self.version})"
