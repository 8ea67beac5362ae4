"""Sends one signed webhook, per the Standard Webhooks spec, with the ``standardwebhooks``
library: headers ``webhook-id`` (the delivery's stable id), ``webhook-timestamp`` (now, in
seconds) and ``webhook-signature`` (one ``v1,<signature>`` per valid secret, space-separated), the
body exactly the bytes signed.

Consumes an Endpoint and a message; produces the receiver's answer (status and Retry-After), or
no status when it could not be reached within ``timeout_s``. Never raises for the receiver's
sake: what to do next is retry_policy.py's decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import structlog
from standardwebhooks import Webhook

from merchant_relay.endpoint_urls import RESOLVE_TIMEOUT_S, refusal_of_addresses, system_resolver

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int | None
    retry_after: str | None = None
    error: str | None = None


def signature_header(secrets: Sequence[str], message_id: str, timestamp: datetime, body: str) -> str:
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)


def signed_headers(secrets: Sequence[str], message_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(secrets, message_id, timestamp, body),
    }


class WebhookSender:
    def __init__(self, *, timeout_s: float, check_addresses: bool = True) -> None:
        self._http = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._check_addresses = check_addresses

    async def start(self) -> None:
        """Nothing to open ahead."""

    async def stop(self) -> None:
        await self._http.aclose()

    async def send(
        self, url: str, secrets: Sequence[str], message_id: str, body: str, *, now: datetime
    ) -> Answer:
        if self._check_addresses:  # a name may resolve elsewhere since it was registered
            refusal = await refusal_at_send(url)
            if refusal is not None:
                return Answer(None, error=f"unsafe endpoint: {refusal}")
        headers = signed_headers(secrets, message_id, now, body)
        try:
            response = await self._http.post(url, content=body.encode(), headers=headers)
        except httpx.HTTPError as error:
            return Answer(None, error=type(error).__name__)
        return Answer(response.status_code, response.headers.get("retry-after"))


async def refusal_at_send(url: str) -> str | None:
    """Why the relay must not POST to ``url`` now (its host resolves to an address inside the
    platform's reach), or None. The check at registration is repeated at every send, so a name
    that later resolves elsewhere (DNS rebinding) is not followed."""
    parts = urlsplit(url)
    try:
        addresses = await asyncio.wait_for(
            system_resolver(parts.hostname or "", parts.port or 443), RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError):
        return "the host does not resolve"
    return refusal_of_addresses(addresses)
