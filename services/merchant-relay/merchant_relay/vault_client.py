"""merchant-relay's one call to vault-service: GET /v1/buyers/{buyer}/shipping?order_id= (service
token, audience vault-service, scope shipping:read, minted by the relay's own key), for one paid
order, at the moment a delivery is sent. The relay keeps none of what it answers.

Answers: the address and, with the buyer's consent, the contact email; ``None`` when the vault
has nothing for the buyer any more (404: erased), so the delivery carries no personal data. The
vault away, answering 5xx or 429, or not having seen the order paid yet (403: its view of
checkout's topic is behind the relay's) raises VaultUnavailable: the attempt is tried again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from buybutton.faults import TransientFailure
from buybutton.service_client import AuthHeader, ServiceClient

AUDIENCE = "vault-service"
VAULT_SCOPES = {AUDIENCE: ("shipping:read",)}


class VaultUnavailable(TransientFailure):
    """The vault could not give the address now; the same call later can succeed."""


class VaultClient:
    def __init__(self, base_url: str, auth_header: AuthHeader, *, timeout_s: float = 5.0) -> None:
        self._service = ServiceClient(
            base_url,
            auth_header,
            audience=AUDIENCE,
            timeout_s=timeout_s,
            unavailable=VaultUnavailable,
            not_now=frozenset({403, 429}),  # 403: the vault has not seen the order paid yet
        )

    async def start(self) -> None:
        await self._service.start()

    async def stop(self) -> None:
        await self._service.stop()

    async def shipping(self, buyer_id: str, order_id: str) -> dict[str, Any] | None:
        path = f"/v1/buyers/{quote(buyer_id)}/shipping"
        response = await self._service.call("GET", path, params={"order_id": order_id})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise VaultUnavailable(f"vault answered {response.status_code}")
        found: dict[str, Any] = response.json()
        return found
