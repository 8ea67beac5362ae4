"""Confirm an order: the step between tapping Buy and the payment worker charging it.

A first purchase brings a shipping address and a Stripe payment-method reference (what Stripe.js
gave, ``pm_...``; never card data) and ``remember``; a repeat purchase brings only
``use_saved`` and pays with what the vault kept. In order:

1. the order must be the buyer's and ``held`` (the same confirmation again answers as before);
2. one tap: the vault must hold a saved payment method for the buyer (else 409, nothing changes);
   new details: the vault keeps the address for this order (and, with ``remember``, as the
   buyer's default address), since only the vault holds addresses;
3. the order becomes ``confirming`` with OrderConfirmed in its outbox: the payment worker takes
   it from there. The payment-method reference stays on the order (checkout's payments ledger),
   never on a topic.

A crash after (2) leaves the address at the vault and the order held: confirming again repeats
(2) (the vault's writes are idempotent) and then (3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from buybutton.addresses import ShippingAddress
from buybutton.auth import Principal
from checkout_service.checkout import Checkout
from checkout_service.order_payment import Confirmation, confirm
from checkout_service.vault_client import VaultClient


class NoSavedProfile(LookupError):
    """One tap asked for, but the vault keeps no payment method for this buyer."""


@dataclass(frozen=True)
class ConfirmRequest:
    use_saved: bool
    shipping_address: ShippingAddress | None = None
    payment_method: str | None = None
    remember: bool = False

    def confirmation(self) -> Confirmation:
        return Confirmation(
            uses_saved_profile=self.use_saved,
            payment_method_ref=None if self.use_saved else self.payment_method,
            remember=self.remember and not self.use_saved,
        )


@dataclass
class Confirmer:
    checkout: Checkout
    vault: VaultClient
    clock: Callable[[], datetime]

    async def confirm(self, buyer: Principal, order_id: str, request: ConfirmRequest) -> Mapping[str, Any]:
        order = await asyncio.to_thread(self.checkout.order_of, buyer, order_id)
        confirmation = request.confirmation()
        if order["state"] == "held":
            await self._hand_details_to_vault(buyer.subject, order_id, request)
        outcome = await asyncio.to_thread(
            self.checkout.orders.apply, order_id, confirm(confirmation, self.clock())
        )
        assert outcome.aggregate.state is not None
        return outcome.aggregate.state

    async def _hand_details_to_vault(self, buyer_id: str, order_id: str, request: ConfirmRequest) -> None:
        if request.use_saved:
            saved = await self.vault.saved_profile(buyer_id)
            if saved is None or not saved.get("has_payment_method"):
                raise NoSavedProfile
            return
        assert request.shipping_address is not None
        address = request.shipping_address.model_dump(mode="json")
        await self.vault.save_order_shipping(buyer_id, order_id, address)
        if request.remember:
            await self.vault.remember(
                buyer_id, {"shipping_address": {**address, "is_default": True}, "remember_me": True}
            )
