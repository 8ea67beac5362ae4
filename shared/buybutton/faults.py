"""Which failures are transient (infrastructure: retry without limit) and which are not."""

from __future__ import annotations


class TransientFailure(Exception):
    """A failure that trying again later will get past: a dependency's timeout, 5xx or 429."""
