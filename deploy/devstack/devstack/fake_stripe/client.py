"""A small client for the fake's admin API (``/_fake/``), scoped to one secret key if given:
what tests and scripts use to arm faults, read counters, set the webhook endpoint and finish
3-D Secure. Requests go to the fake's base URL only."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any, cast

import httpx

JSON = dict[str, Any]


class FakeStripeAdmin:
    def __init__(self, base_url: str, api_key: str | None = None, *, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._http = httpx.Client(base_url=f"{self.base_url}/_fake", timeout=timeout_s)

    def _call(self, method: str, path: str, body: JSON | None = None, **query: object) -> JSON:
        params = {k: str(v) for k, v in query.items()}
        if self.api_key:
            params["api_key"] = self.api_key
        response = self._http.request(method, path, params=params, json=body)
        response.raise_for_status()
        return cast(JSON, response.json())

    def health(self) -> JSON:
        return self._call("GET", "/health")

    def charges(self) -> JSON:
        return self._call("GET", "/charges")

    def requests(self, *, limit: int = 100) -> JSON:
        return self._call("GET", "/requests", limit=limit)

    def arm(
        self,
        kind: str,
        *,
        path: str = "/v1/*",
        method: str | None = None,
        count: int | None = 1,
        **options: int,
    ) -> JSON:
        return self._call(
            "POST", "/faults", {"kind": kind, "path": path, "method": method, "count": count, **options}
        )

    def faults(self) -> JSON:
        return self._call("GET", "/faults")

    def clear_faults(self) -> JSON:
        return self._call("DELETE", "/faults")

    def set_webhook(
        self,
        url: str,
        secret: str,
        *,
        enabled_events: Iterable[str] = ("*",),
        max_attempts: int = 5,
        backoff_s: float = 0.5,
    ) -> JSON:
        body = {
            "url": url,
            "secret": secret,
            "enabled_events": list(enabled_events),
            "max_attempts": max_attempts,
            "backoff_s": backoff_s,
        }
        return self._call("PUT", "/webhook", body)

    def webhook(self) -> JSON:
        return self._call("GET", "/webhook")

    def authenticate(self, payment_intent_id: str, *, succeed: bool = True) -> JSON:
        outcome = "succeed" if succeed else "fail"
        return self._call("POST", f"/payment_intents/{payment_intent_id}/authenticate", {"outcome": outcome})

    def reset(self) -> JSON:
        return self._call("POST", "/reset")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FakeStripeAdmin:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
