"""What comes after a webhook attempt, decided from the receiver's answer alone (pure, so the
unit tests cover every case).

The rules it keeps:
- 2xx: delivered.
- 410 Gone: the endpoint says it is gone for good: this delivery stops (``gone``), not retried.
- 429 and 503 with a Retry-After (seconds or an HTTP date): the next attempt waits what the
  receiver asked, at most ``retry_after_cap_s``; without one, like any other failure.
- any other answer, a timeout or no connection: exponential backoff with full jitter, a random
  wait in [0, min(cap, base * 2^(n-1))] after the n-th failure.
- a failure at or past the horizon since the first attempt: dead (dead-lettered, visible, and
  re-sent only by ``relay-admin resend``). A backoff wait is never stretched past the horizon's
  end, so the last try falls on it rather than far beyond; a Retry-After is honoured even past it
  (one more try, then dead if that fails too).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

Verdict = Literal["delivered", "retry", "dead", "gone"]
HONOURS_RETRY_AFTER = frozenset({429, 503})


@dataclass(frozen=True)
class Backoff:
    base_s: float
    cap_s: float
    retry_after_cap_s: float
    horizon_s: float

    def jittered_s(self, failures: int) -> float:
        ceiling = min(self.cap_s, self.base_s * 2 ** max(0, failures - 1))
        return random.uniform(0, ceiling)  # noqa: S311 (jitter, not a secret)


@dataclass(frozen=True)
class Next:
    verdict: Verdict
    at: datetime | None = None


def retry_after_s(value: str | None, *, now: datetime) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), None if unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def after_failure(
    policy: Backoff, *, failures: int, first_attempt_at: datetime, now: datetime, asked_s: float | None
) -> Next:
    """Retry (when) or dead, for a failed attempt."""
    horizon_end = first_attempt_at + timedelta(seconds=policy.horizon_s)
    if now >= horizon_end:
        return Next("dead")
    if asked_s is not None:  # what the receiver asked, even past the horizon: one more try then
        return Next("retry", now + timedelta(seconds=min(asked_s, policy.retry_after_cap_s)))
    return Next("retry", min(now + timedelta(seconds=policy.jittered_s(failures)), horizon_end))


def after_answer(
    policy: Backoff,
    status: int | None,
    *,
    retry_after: str | None,
    failures: int,
    first_attempt_at: datetime,
    now: datetime,
) -> Next:
    """The verdict on an attempt that got ``status`` (None: no answer at all)."""
    if status is not None and 200 <= status < 300:
        return Next("delivered")
    if status == 410:
        return Next("gone")
    asked = retry_after_s(retry_after, now=now) if status in HONOURS_RETRY_AFTER else None
    return after_failure(policy, failures=failures, first_attempt_at=first_attempt_at, now=now, asked_s=asked)
