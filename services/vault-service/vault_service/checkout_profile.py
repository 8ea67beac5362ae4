"""What checkout-service sends after a captured first purchase the buyer asked to be remembered
for (``PATCH /v1/buyers/{buyer_id}/profile``, scope profiles:write): any of the Stripe customer
id, the default payment-method id, the card display, one shipping address, the contact email and
the ``remember_me`` consent.

The rules it keeps: only the fields sent change (a field left out, or sent as ``null``, stays as
stored). The address sent becomes the default: the old default stays in the list as an ordinary
address, an address equal to one already kept (every part but ``is_default``) is not added again
but made the default where it stands, and when the list would exceed 10 the oldest address that
is not the default (the first in the list) is dropped. Merging needs the stored list, so this
edit reads it (decrypted in the vault, never returned) and is decided again after a lost race,
so two concurrent patches both land.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import EmailStr

from buybutton.addresses import ShippingAddress
from buybutton.inputs import StrictInput
from vault_service.profile import (
    MAX_ADDRESSES,
    CardDisplay,
    CustomerId,
    PaymentMethodId,
    ProfileEdit,
)

SET_AS_SENT = ("stripe_customer_id", "default_payment_method_id", "card", "contact_email")


def _same_place(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return {**a, "is_default": False} == {**b, "is_default": False}


def with_default_address(stored: Sequence[Mapping[str, Any]], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``stored`` with ``new`` as its default address (see the module's doc)."""
    addresses = [{**a, "is_default": _same_place(a, new)} for a in stored]
    if not any(a["is_default"] for a in addresses):
        addresses.append({**new, "is_default": True})
    while len(addresses) > MAX_ADDRESSES:
        oldest = next(i for i, a in enumerate(addresses) if not a["is_default"])
        del addresses[oldest]
    return addresses


class CheckoutProfilePatch(StrictInput):
    stripe_customer_id: CustomerId | None = None
    default_payment_method_id: PaymentMethodId | None = None
    card: CardDisplay | None = None
    shipping_address: ShippingAddress | None = None
    contact_email: EmailStr | None = None
    remember_me: bool | None = None

    @property
    def reads(self) -> tuple[str, ...]:
        return ("shipping_addresses",) if self.shipping_address is not None else ()

    def edit_of(self, stored: Mapping[str, Any]) -> ProfileEdit:
        values = self.model_dump(mode="json", include=set(SET_AS_SENT), exclude_none=True)
        if self.shipping_address is not None:
            new = self.shipping_address.model_dump(mode="json")
            values["shipping_addresses"] = with_default_address(stored.get("shipping_addresses", []), new)
        consents = {} if self.remember_me is None else {"remember_me": self.remember_me}
        return ProfileEdit(values, frozenset(), consents)
