"""One Stripe request as the gateway sends it: 429s waited out, every other error classified
once, and a log line that carries no card or buyer data.

Consumes a zero-argument coroutine factory that sends the request (the same idempotency key on
every send); produces its answer, or raises the classified error (stripe_errors.py). Rule kept:
only a 429 is sent again here, after its Retry-After (capped), at most ``rate_limit_waits``
times; a card error passes through untouched for the gateway to read as a decline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import stripe
import structlog

from checkout_service.stripe_errors import classify, error_code, is_config_error, rate_limit_wait_s

log = structlog.get_logger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class StripeCaller:
    def __init__(
        self, *, rate_limit_waits: int, retry_after_cap_s: float, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._rate_limit_waits = rate_limit_waits
        self._retry_after_cap_s = retry_after_cap_s
        self._sleep = sleep

    async def __call__(self, operation: str, send: Callable[[], Awaitable[T]]) -> T:
        waits = 0
        while True:
            try:
                answer = await send()
            except stripe.CardError:
                raise
            except stripe.RateLimitError as error:
                if waits >= self._rate_limit_waits:
                    _log_failure(operation, error, waits=waits)
                    raise classify(error) from error
                waits += 1
                wait_s = rate_limit_wait_s(error, cap_s=self._retry_after_cap_s)
                log.info(
                    "stripe_rate_limited", operation=operation, request_id=error.request_id, wait_s=wait_s
                )
                await self._sleep(wait_s)
                continue
            except stripe.StripeError as error:
                _log_failure(operation, error, waits=waits)
                raise classify(error) from error
            log.debug("stripe_answered", operation=operation, request_id=_request_id(answer), waits=waits)
            return answer


def _log_failure(operation: str, error: stripe.StripeError, *, waits: int) -> None:
    fields = {
        "operation": operation,
        "request_id": error.request_id,
        "status": error.http_status,
        "code": error_code(error),
        "error": type(error).__name__,
        "rate_limit_waits": waits,
    }
    if is_config_error(error):  # a wrong or restricted key: every payment fails until it is fixed
        log.error("stripe_configuration_refused", **fields)
    else:
        log.warning("stripe_failed", **fields)


def _request_id(answer: object) -> str | None:
    response = getattr(answer, "last_response", None)
    return getattr(response, "request_id", None)
