"""Idempotent requests, as Stripe documents them for API v1.

Per secret key, the first answer to a POST with an ``Idempotency-Key`` is saved once the
endpoint began executing, and every later request with that key and the same endpoint and
parameters gets it back (marked ``Idempotent-Replayed: true``), declines and 500s included.
The same key with other parameters or another endpoint is a 400 ``idempotency_error``; a
request arriving while the first is still executing is a 409 ``idempotency_error`` (the SDKs
retry it). A request refused before execution (bad parameters) saves nothing, so it may be
retried. Keys are forgotten after 24 hours.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from devstack.fake_stripe.errors import JSON, StripeError, invalid_request

KEY_MAX_LENGTH = 255
KEY_LIFETIME_S = 24 * 3600


@dataclass(frozen=True)
class SavedAnswer:
    status: int
    body: bytes
    request_id: str


@dataclass
class _Entry:
    endpoint: str
    parameters: str
    saved_at: float
    answer: SavedAnswer | None = None  # None while the first request executes


def fingerprint(values: JSON) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


class IdempotencyKeys:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}

    def claim(self, api_key: str, key: str, endpoint: str, values: JSON) -> SavedAnswer | None:
        """The saved answer to replay, or None: the caller executes and must ``save`` or ``release``."""
        if len(key) > KEY_MAX_LENGTH:
            raise invalid_request(
                f"Idempotency keys can be at most {KEY_MAX_LENGTH} characters long.", param="Idempotency-Key"
            )
        parameters = fingerprint(values)
        with self._lock:
            entry = self._entries.get((api_key, key))
            if entry is None or time.monotonic() - entry.saved_at > KEY_LIFETIME_S:
                self._entries[(api_key, key)] = _Entry(endpoint, parameters, time.monotonic())
                return None
            if entry.endpoint != endpoint:
                raise StripeError(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used for the same endpoint they were "
                    f"first used for ('{entry.endpoint}' vs '{endpoint}'). Try using a key other than "
                    f"'{key}' if you meant to execute a different request.",
                )
            if entry.parameters != parameters:
                raise StripeError(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they were "
                    f"first used with. Try using a key other than '{key}' if you meant to execute a "
                    "different request.",
                )
            if entry.answer is None:
                raise StripeError(
                    409,
                    "idempotency_error",
                    "There is currently another in-progress request using this Idempotent Key (that "
                    "probably means you submitted twice, and the other request is still going "
                    f"through): {key}. Please try again later.",
                    code="idempotency_key_in_use",
                    headers={"Stripe-Should-Retry": "true"},
                )
            return entry.answer

    def save(self, api_key: str, key: str, answer: SavedAnswer) -> None:
        with self._lock:
            entry = self._entries.get((api_key, key))
            if entry is not None:
                entry.answer = answer
                entry.saved_at = time.monotonic()

    def release(self, api_key: str, key: str) -> None:
        with self._lock:
            self._entries.pop((api_key, key), None)

    def reset(self, api_key: str | None = None) -> None:
        with self._lock:
            for owner, key in list(self._entries):
                if api_key is None or owner == api_key:
                    del self._entries[(owner, key)]
