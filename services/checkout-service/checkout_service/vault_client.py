"""checkout-service's calls to vault-service, the only service that holds buyers' addresses and
saved payment references (encrypted). checkout sends what the buyer gave at confirmation and
reads back only what paying needs; it keeps none of it.

Calls (service token, audience vault-service, minted by checkout's own key):
- ``save_order_shipping``: PUT /v1/buyers/{buyer}/orders/{order}/shipping (profiles:write)
- ``remember``: PATCH /v1/buyers/{buyer}/profile (profiles:write): the saved profile's new parts
- ``payment_references``: GET /v1/buyers/{buyer}/payment?order_id= (payment:read), for an open
  order only; ``None`` when the buyer has no saved payment method
- ``saved_profile``: GET /v1/buyers/{buyer}/saved-profile (profiles:hint): masked card and
  ship-to, for the one-tap offer; ``None`` when there is none

The vault being away, answering 5xx or 429, or not knowing the order yet (409: its view of
checkout's topic is behind) raises VaultUnavailable, a transient failure: the caller retries.
Any other refusal raises VaultRefused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from buybutton.faults import TransientFailure
from buybutton.service_client import AuthHeader, ServiceClient

AUDIENCE = "vault-service"
# what checkout's service token to the vault carries; the vault trusts checkout for these only
VAULT_SCOPES = {AUDIENCE: ("profiles:write", "payment:read", "profiles:hint")}


class VaultUnavailable(TransientFailure):
    """The vault could not answer now; the same call later can succeed."""


class VaultRefused(Exception):
    """The vault refused the call (authorisation or input); retrying the same call will not help."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"vault answered {status_code}: {detail}")
        self.status_code = status_code


class VaultClient:
    def __init__(self, base_url: str, auth_header: AuthHeader, *, timeout_s: float = 5.0) -> None:
        self._service = ServiceClient(
            base_url,
            auth_header,
            audience=AUDIENCE,
            timeout_s=timeout_s,
            unavailable=VaultUnavailable,
            not_now=frozenset({409, 429}),  # 409: the vault has not seen the order yet
        )
        self._call = self._service.call

    async def start(self) -> None:
        await self._service.start()

    async def stop(self) -> None:
        await self._service.stop()

    @staticmethod
    def _refused(response: httpx.Response) -> VaultRefused:
        try:
            detail = str(response.json().get("detail", ""))[:200]
        except ValueError:
            detail = ""
        return VaultRefused(response.status_code, detail)

    async def save_order_shipping(self, buyer_id: str, order_id: str, address: Mapping[str, Any]) -> None:
        path = f"/v1/buyers/{quote(buyer_id)}/orders/{quote(order_id)}/shipping"
        response = await self._call("PUT", path, json={"shipping_address": dict(address)})
        if response.status_code != 204:
            raise self._refused(response)

    async def remember(self, buyer_id: str, changes: Mapping[str, Any]) -> None:
        response = await self._call("PATCH", f"/v1/buyers/{quote(buyer_id)}/profile", json=dict(changes))
        if response.status_code != 204:
            raise self._refused(response)

    async def payment_references(self, buyer_id: str, order_id: str) -> dict[str, Any] | None:
        path = f"/v1/buyers/{quote(buyer_id)}/payment"
        response = await self._call("GET", path, params={"order_id": order_id})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._refused(response)
        found: dict[str, Any] = response.json()
        return found if found.get("default_payment_method_id") else None

    async def saved_profile(self, buyer_id: str) -> dict[str, Any] | None:
        response = await self._call("GET", f"/v1/buyers/{quote(buyer_id)}/saved-profile")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._refused(response)
        found: dict[str, Any] = response.json()
        return found
