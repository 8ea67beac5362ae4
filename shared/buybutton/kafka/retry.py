"""How long the consume loop waits between attempts, and how it says that it is stuck.

``RetryPolicy`` bounds the attempts at a domain error (then the record is dead-lettered) and
gives the capped exponential backoff, with jitter so that the members of a group that all lost
the same database do not come back in step. ``Outage`` remembers since when one record has been
retried for a transient cause, so that a health check can report it. ``pause`` sleeps, but
wakes as soon as any of the given events is set (stop, or the partition handed over).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` at a domain error before the dead letter (transient errors are retried
    without limit); each attempt may take ``attempt_timeout_s`` (then it counts as transient);
    a record retried for longer than ``report_after_s`` is reported to the health check."""

    attempts: int = 3
    first_backoff_s: float = 0.1
    max_backoff_s: float = 5.0
    jitter: float = 0.2
    attempt_timeout_s: float = 30.0
    report_after_s: float = 5.0

    def backoff_s(self, failed_attempt: int) -> float:
        """The wait after the ``failed_attempt``-th failure: doubling, capped, without jitter."""
        exponent = min(max(failed_attempt, 1) - 1, 62)
        return float(min(self.max_backoff_s, self.first_backoff_s * 2**exponent))

    def jittered_backoff_s(self, failed_attempt: int) -> float:
        """``backoff_s`` spread by up to ``jitter`` either way, never above the cap."""
        spread = 1 + self.jitter * (2 * random.random() - 1)  # noqa: S311 (timing, not secrets)
        return min(self.max_backoff_s, self.backoff_s(failed_attempt) * spread)


@dataclass
class Outage:
    """A record retried for a transient cause: what failed, where, since when."""

    error_class: str
    topic: str
    partition: int
    since: float  # time.monotonic()

    def seconds(self) -> float:
        return time.monotonic() - self.since

    def describe(self) -> str:
        return f"retrying {self.error_class} on {self.topic}[{self.partition}] since {self.seconds():.0f} s"


async def pause(seconds: float, *wake_on: asyncio.Event) -> bool:
    """Sleep ``seconds`` unless an event is set first. True if an event woke it."""
    if any(event.is_set() for event in wake_on):
        return True
    if not wake_on:
        await asyncio.sleep(seconds)
        return False
    waiters = [asyncio.ensure_future(event.wait()) for event in wake_on]
    try:
        done, _ = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return bool(done)
