"""The deliveries (collection ``deliveries``): one document per (order, kind), owned by the
delivery pipeline. ``_id`` is the webhook-id the merchant receives: ``msg_`` + a card-free
digest of the order id and the kind (and, from an order's second refund on, the refund's
number), so every attempt of one delivery, from any instance, before or after a restart,
carries the same id and receivers deduplicate by it.

Document: {_id, merchant_id, order_id, kind, state (pending | delivered | dead | gone),
attempts, next_attempt_at, first_attempt_at, last_attempt_at, last_status, channels (reached so
far), lease_owner, created_at}.

The rule it keeps: an attempt is made by one instance at a time. A claim is one
``find_one_and_update`` of a pending delivery whose ``next_attempt_at`` has come, moving
``next_attempt_at`` a lease ahead (the lease) and naming the claimer; the outcome is written only
by the claimer still holding that claim (same owner, same attempt). An instance that dies
mid-attempt leaves the delivery to come due again when its lease runs out, and another instance
tries again under the same webhook-id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection

from buybutton.sensitive import card_free_derived
from merchant_relay.payload import DeliveryKind

COLLECTION = "deliveries"
PENDING, DELIVERED, DEAD, GONE = "pending", "delivered", "dead", "gone"
STATES = (PENDING, DELIVERED, DEAD, GONE)


def webhook_id(order_id: str, kind: DeliveryKind, number: int = 1) -> str:
    """The stable webhook-id of one delivery: a pure function of what it delivers."""
    basis = f"{order_id}/{kind}" if number == 1 else f"{order_id}/{kind}/{number}"

    def derive(attempt: int) -> str:
        salted = basis if attempt == 0 else f"{basis}/{attempt}"
        return "msg_" + hashlib.sha256(salted.encode()).hexdigest()[:32]

    return card_free_derived(derive)


@dataclass(frozen=True)
class Claim:
    """A delivery this instance may attempt now (``attempt``: this attempt's number)."""

    delivery_id: str
    order_id: str
    merchant_id: str
    kind: DeliveryKind
    attempt: int
    first_attempt_at: datetime
    channels: tuple[str, ...]


class Deliveries:
    def __init__(self, collection: Collection[dict[str, Any]], *, owner: str) -> None:
        self.collection = collection
        self.owner = owner

    def ensure_indexes(self) -> None:
        self.collection.create_index([("state", ASCENDING), ("next_attempt_at", ASCENDING)])
        self.collection.create_index([("merchant_id", ASCENDING), ("order_id", ASCENDING)])

    def ensure(
        self, order_id: str, merchant_id: str, kind: DeliveryKind, *, now: datetime, number: int = 1
    ) -> str:
        """The delivery of ``kind`` for the order, created pending if there is none (again: the
        same one, unchanged)."""
        delivery_id = webhook_id(order_id, kind, number)
        document = {
            "merchant_id": merchant_id,
            "order_id": order_id,
            "kind": kind,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "first_attempt_at": None,
            "last_attempt_at": None,
            "last_status": None,
            "channels": [],
            "lease_owner": None,
            "created_at": now,
        }
        self.collection.update_one({"_id": delivery_id}, {"$setOnInsert": document}, upsert=True)
        return delivery_id

    def claim(self, *, now: datetime, lease: timedelta) -> Claim | None:
        found = self.collection.find_one_and_update(
            {"state": PENDING, "next_attempt_at": {"$lte": now}},
            {
                "$set": {"next_attempt_at": now + lease, "lease_owner": self.owner, "last_attempt_at": now},
                "$inc": {"attempts": 1},
            },
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        if found is None:
            return None
        first = found.get("first_attempt_at")
        if first is None:
            first = now
            self._mine(found, {"$set": {"first_attempt_at": now}})
        return Claim(
            delivery_id=found["_id"],
            order_id=found["order_id"],
            merchant_id=found["merchant_id"],
            kind=found["kind"],
            attempt=int(found["attempts"]),
            first_attempt_at=first,
            channels=tuple(found.get("channels", [])),
        )

    def _mine(self, claim: Mapping[str, Any] | Claim, update: dict[str, Any]) -> bool:
        """Write ``update`` if this instance still holds the claim."""
        delivery_id = claim.delivery_id if isinstance(claim, Claim) else claim["_id"]
        attempts = claim.attempt if isinstance(claim, Claim) else claim["attempts"]
        condition = {"_id": delivery_id, "lease_owner": self.owner, "attempts": attempts, "state": PENDING}
        return self.collection.update_one(condition, update).matched_count == 1

    def reached(self, claim: Claim, channel: str) -> bool:
        return self._mine(claim, {"$addToSet": {"channels": channel}})

    def settle(self, claim: Claim, state: str, *, status: str, now: datetime) -> bool:
        """The delivery ends ``state`` (delivered, dead, gone)."""
        fields = {"state": state, "last_status": status, "lease_owner": None, "settled_at": now}
        return self._mine(claim, {"$set": fields})

    def retry_at(self, claim: Claim, when: datetime, *, status: str) -> bool:
        return self._mine(
            claim, {"$set": {"next_attempt_at": when, "last_status": status, "lease_owner": None}}
        )

    def counts(self, merchant_id: str | None = None) -> dict[str, int]:
        match: dict[str, Any] = {} if merchant_id is None else {"merchant_id": merchant_id}
        counted = {state: 0 for state in STATES}
        for row in self.collection.aggregate(
            [{"$match": match}, {"$group": {"_id": "$state", "n": {"$sum": 1}}}]
        ):
            counted[str(row["_id"])] = int(row["n"])
        return counted


def resend_filter(merchant_id: str | None, order_id: str | None) -> dict[str, Any]:
    """The dead deliveries a re-send takes (of one merchant, one order, or all)."""
    condition: dict[str, Any] = {"state": DEAD}
    if merchant_id:
        condition["merchant_id"] = merchant_id
    if order_id:
        condition["order_id"] = order_id
    return condition


def resend_one(collection: Collection[dict[str, Any]], delivery_id: str, *, now: datetime) -> bool:
    """A dead delivery back to pending, due now, with a new horizon from its next attempt; its
    webhook-id stays (a receiver that has it already drops the repeat)."""
    reset = {"state": PENDING, "next_attempt_at": now, "first_attempt_at": None, "lease_owner": None}
    return collection.update_one({"_id": delivery_id, "state": DEAD}, {"$set": reset}).modified_count == 1
