"""What follows a webhook attempt: delivered on 2xx, gone on 410, Retry-After honoured on 429 and
503 (capped), full-jitter backoff otherwise, dead only at or after the horizon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from merchant_relay.retry_policy import Backoff, Next, after_answer, retry_after_s

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = Backoff(base_s=2, cap_s=60, retry_after_cap_s=120, horizon_s=3_600)


def verdict(
    status: int | None, *, minutes_in: float = 1, retry_after: str | None = None, failures: int = 1
) -> tuple[Next, datetime]:
    now = START + timedelta(minutes=minutes_in)
    return after_answer(
        POLICY, status, retry_after=retry_after, failures=failures, first_attempt_at=START, now=now
    ), now


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert verdict(status)[0].verdict == "delivered"


def test_410_is_gone_and_never_retried_even_past_the_horizon() -> None:
    assert verdict(410)[0].verdict == "gone"
    assert verdict(410, minutes_in=600)[0].verdict == "gone"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_honoured(status: int) -> None:
    result, now = verdict(status, retry_after="42")
    assert result.verdict == "retry" and result.at == now + timedelta(seconds=42)


def test_retry_after_as_an_http_date_is_honoured() -> None:
    result, now = verdict(503, retry_after="Tue, 01 Dec 2026 09:02:30 GMT")
    assert result.at == now + timedelta(seconds=90)


def test_retry_after_is_capped_and_ignored_on_other_statuses() -> None:
    capped, now = verdict(429, retry_after="100000")
    assert capped.at == now + timedelta(seconds=POLICY.retry_after_cap_s)
    other, now = verdict(500, retry_after="3000", failures=1)
    assert other.at is not None and other.at <= now + timedelta(seconds=POLICY.base_s)


@pytest.mark.parametrize("status", [None, 400, 404, 500, 502, 504])
def test_other_failures_back_off_with_full_jitter_up_to_the_cap(status: int | None) -> None:
    for failures, ceiling in ((1, 2), (2, 4), (3, 8), (6, 60), (30, 60)):
        waits = []
        for _ in range(200):
            result, now = verdict(status, failures=failures)
            assert result.verdict == "retry" and result.at is not None
            waits.append((result.at - now).total_seconds())
        assert min(waits) >= 0 and max(waits) <= ceiling
        assert max(waits) > ceiling / 2  # spread over the whole range, not a fixed delay


def test_dead_only_at_or_after_the_horizon_and_no_wait_past_it() -> None:
    assert verdict(500, minutes_in=59.9, failures=20)[0].verdict == "retry"
    last, _ = verdict(500, minutes_in=59.99, failures=20)
    assert last.at is not None and last.at <= START + timedelta(seconds=POLICY.horizon_s)
    assert verdict(500, minutes_in=60, failures=20)[0].verdict == "dead"
    assert verdict(None, minutes_in=61)[0].verdict == "dead"


def test_unreadable_retry_after_is_none() -> None:
    assert retry_after_s("soon", now=START) is None
    assert retry_after_s(None, now=START) is None
    assert retry_after_s("Mon, 30 Nov 2026 09:00:00 GMT", now=START) == 0.0
