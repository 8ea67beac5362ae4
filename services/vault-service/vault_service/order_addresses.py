"""The shipping address of one order: checkout-service stores it at confirmation (scope
profiles:write), also for a buyer who did not ask to be remembered, and merchant-relay reads it
once the order is paid (scope shipping:read), in place of the profile's default address.

Owns ``order_addresses`` {_id: order_id, buyer_id, key_id, sealed, updated_at}: the address is
sealed under the buyer's data key like every profile field (associated data binds buyer, order
and key), is never part of the buyer's profile, and is erased with the buyer's data.

The rules it keeps: storing is idempotent per order (the same order and address again is the
same outcome; another address replaces it) until the vault has seen the order paid, then 409
(the window between that check and the write is checkout's own: it stores the address before it
charges); an order the view knows to be another buyer's is refused. Against an erasure racing a
store: the erasure destroys the key, then deletes the buyer's order addresses; a store checks,
after writing, that its key still exists and removes its own write if not. So either the store
sees the key gone and removes it, or it wrote before the key was destroyed and the erasure's
delete, which comes after, removes it: nothing is left under a destroyed key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bson import Binary
from pymongo.errors import DuplicateKeyError

from buybutton.addresses import ShippingAddress
from buybutton.auth import Principal
from vault_service.fields import seal, unseal
from vault_service.orders import Standing, standing_of
from vault_service.vault import Vault


class OrderAlreadyPaid(Exception):
    """The order's address is what merchant-relay ships to; it no longer changes."""


class AnotherBuyersOrder(Exception):
    """The order is known to belong to another buyer."""


def _field(order_id: str) -> str:
    return f"order_shipping_address:{order_id}"


def store_order_address(
    vault: Vault, buyer_id: str, order_id: str, address: ShippingAddress, *, actor: Principal
) -> None:
    standing = standing_of(vault.orders, order_id, buyer_id)
    if standing is Standing.PAID:
        raise OrderAlreadyPaid(order_id)
    if standing is Standing.OTHER_BUYER:
        raise AnotherBuyersOrder(order_id)
    key, data_key = vault.key_for_writing(vault.store.load(buyer_id))
    plaintext = json.dumps(address.model_dump(mode="json", exclude={"is_default"})).encode()
    sealed = seal(data_key, plaintext, buyer_id=buyer_id, field=_field(order_id), key_id=key.key_id)
    document = {
        "buyer_id": buyer_id,
        "key_id": key.key_id,
        "sealed": Binary(sealed),
        "updated_at": datetime.now(UTC),
    }
    try:
        vault.order_addresses.replace_one({"_id": order_id, "buyer_id": buyer_id}, document, upsert=True)
    except DuplicateKeyError:
        raise AnotherBuyersOrder(order_id) from None
    current = vault.keys.get(buyer_id)
    if current is None or current.key_id != key.key_id:  # erased meanwhile: see the module's doc
        vault.order_addresses.delete_one({"_id": order_id, "key_id": key.key_id})


def read_order_address(
    vault: Vault, buyer_id: str, order_id: str, *, actor: Principal, purpose: str
) -> dict[str, Any] | None:
    """The order's own address, decrypted and audited; None when none was stored (or it is
    under a key an erasure destroyed)."""
    document = vault.order_addresses.find_one({"_id": order_id, "buyer_id": buyer_id})
    if document is None:
        return None
    vault.audit_read(buyer_id, ["order_shipping_address"], actor=actor, purpose=purpose, order_id=order_id)
    key = vault.keys.get(buyer_id)
    if key is None or key.key_id != document["key_id"]:
        return None
    data_key = vault.unwrap(key)
    field = _field(order_id)
    plaintext = unseal(data_key, bytes(document["sealed"]), buyer_id=buyer_id, field=field, key_id=key.key_id)
    return json.loads(plaintext)  # type: ignore[no-any-return]
