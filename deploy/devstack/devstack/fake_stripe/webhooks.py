"""Webhooks: events POSTed to an endpoint, signed exactly as Stripe signs them.

Produces ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the
endpoint secret>``, which the SDK's ``stripe.Webhook.construct_event`` verifies. Each attempt
is signed anew with its own time. A delivery that is not answered 2xx is retried with
exponential backoff (``backoff_s``, doubling, capped at a minute) up to ``max_attempts`` in
all, then given up and marked so. One endpoint is the default (``--webhook-url``); any secret
key can have its own, set at runtime with ``PUT /_fake/webhook``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from dataclasses import asdict, dataclass

import httpx

from devstack.fake_stripe.errors import JSON

MAX_BACKOFF_S = 60.0
DELIVERIES_KEPT = 10_000


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class WebhookEndpoint:
    url: str
    secret: str
    enabled_events: tuple[str, ...] = ("*",)
    max_attempts: int = 5
    backoff_s: float = 0.5
    timeout_s: float = 10.0

    def wants(self, event_type: str) -> bool:
        return "*" in self.enabled_events or event_type in self.enabled_events


class WebhookDispatcher:
    def __init__(self, default: WebhookEndpoint | None = None) -> None:
        self._lock = threading.Lock()
        self._default = default
        self._endpoints: dict[str, WebhookEndpoint] = {}
        self._deliveries: list[JSON] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def configure(self, endpoint: WebhookEndpoint | None, api_key: str | None = None) -> None:
        with self._lock:
            if api_key is None:
                self._default = endpoint
            elif endpoint is None:
                self._endpoints.pop(api_key, None)
            else:
                self._endpoints[api_key] = endpoint

    def endpoint_for(self, api_key: str) -> WebhookEndpoint | None:
        with self._lock:
            return self._endpoints.get(api_key, self._default)

    def submit(self, api_key: str, event: JSON) -> bool:
        """Schedule the delivery of ``event``; False when no endpoint wants it."""
        endpoint = self.endpoint_for(api_key)
        if endpoint is None or not endpoint.wants(event["type"]) or self._client is None:
            return False
        record: JSON = {
            "event_id": event["id"],
            "type": event["type"],
            "api_key": api_key,
            "url": endpoint.url,
            "attempts": [],
            "delivered": False,
            "given_up": False,
        }
        with self._lock:
            self._deliveries.append(record)
            del self._deliveries[:-DELIVERIES_KEPT]
        task = asyncio.get_running_loop().create_task(self._deliver(self._client, endpoint, event, record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _deliver(
        self, client: httpx.AsyncClient, endpoint: WebhookEndpoint, event: JSON, record: JSON
    ) -> None:
        payload = json.dumps(event, indent=2)
        for attempt in range(1, endpoint.max_attempts + 1):
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature_header(payload, endpoint.secret, int(time.time())),
                "User-Agent": "Stripe/1.0 (fake-stripe)",
            }
            tried: JSON = {"attempt": attempt, "at": time.time()}
            try:
                response = await client.post(
                    endpoint.url, content=payload, headers=headers, timeout=endpoint.timeout_s
                )
                tried["status"] = response.status_code
            except httpx.HTTPError as error:
                tried["error"] = f"{type(error).__name__}: {error}"
            record["attempts"].append(tried)
            if 200 <= tried.get("status", 0) < 300:
                record["delivered"] = True
                return
            if attempt < endpoint.max_attempts:
                await asyncio.sleep(min(endpoint.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
        record["given_up"] = True

    def report(self, api_key: str | None = None) -> JSON:
        with self._lock:
            endpoint = self._endpoints.get(api_key, self._default) if api_key else self._default
            deliveries = [dict(d) for d in self._deliveries if api_key in (None, d["api_key"])]
        shown = None
        if endpoint is not None:
            shown = {**asdict(endpoint), "secret": f"{endpoint.secret[:6]}..."}
        return {"endpoint": shown, "deliveries": deliveries}

    def reset(self, api_key: str | None = None) -> None:
        with self._lock:
            self._deliveries = [
                d for d in self._deliveries if api_key is not None and d["api_key"] != api_key
            ]
            if api_key is not None:
                self._endpoints.pop(api_key, None)
