"""The one-tap offer on the Buy answer: what the vault keeps for this buyer, masked.

Asked of the vault (profiles:hint) with a short deadline: the offer is a convenience, so a vault
that is slow or away gives no offer (``None``) rather than a slow or failed Buy.
"""

from __future__ import annotations

import asyncio

import structlog
from fastapi import Request

from checkout_service.vault_client import VaultClient, VaultRefused, VaultUnavailable
from checkout_service.views import SavedProfileHint

log = structlog.get_logger(__name__)
HINT_DEADLINE_S = 1.0


async def saved_profile_hint(request: Request, buyer_id: str) -> SavedProfileHint | None:
    vault: VaultClient = request.app.state.vault
    try:
        saved = await asyncio.wait_for(vault.saved_profile(buyer_id), HINT_DEADLINE_S)
    except (TimeoutError, VaultUnavailable, VaultRefused) as problem:
        log.warning("no one-tap offer: the vault did not answer", problem=type(problem).__name__)
        return None
    if saved is None or not saved.get("has_payment_method"):
        return None
    return SavedProfileHint(card=saved.get("card"), ship_to=saved.get("ship_to"))
