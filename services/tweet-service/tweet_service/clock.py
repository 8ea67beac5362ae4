"""The time a record is stored with: UTC, cut to the millisecond that MongoDB keeps, so that what
an answer shows right after a write is what every later read shows (and what cursors compare)."""

from __future__ import annotations

from datetime import UTC, datetime


def stored_now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
