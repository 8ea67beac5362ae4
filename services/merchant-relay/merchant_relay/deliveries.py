"""The deliveries (collection ``deliveries``): one document per (order, kind), owned by the
delivery pipeline. ``_id`` is the webhook-id the merchant receives: ``msg_`` + a card-free
digest of the order id and the kind (and, from an order's second refund on, the refund's
number), so every attempt of one delivery, from any instance, before or after a restart,
carries the same id and receivers deduplicate by it.

Document: {_id, merchant_id, order_id, kind, state (pending | delivered | dead | gone),
attempts, next_attempt_at, first_attempt_at (absent until the first attempt), last_attempt_at,
last_status, channels (reached so far), lease_owner, created_at}.

The rule it keeps: an attempt is made by one instance at a time. A claim is one
``find_one_and_update`` of one pending delivery whose ``next_attempt_at`` has come, moving
``next_attempt_at`` a lease ahead (the lease), naming the claimer and, the first time, stamping
``first_attempt_at``; the outcome (and the channels the attempt reached) is written only by the
claimer still holding that claim (same owner, same attempt), in one write. So an attempt costs
two writes. An instance that dies mid-attempt leaves the delivery to come due again when its
lease runs out, and another instance tries again under the same webhook-id (a channel it had
reached gets the message again, under that id).

Which deliveries are due is read in batches (``due``), oldest first; the worker's lanes then
claim them one by one by id, so the lanes of one instance never aim at the same delivery, and
instances that read the same batch lose a claim cheaply (nothing matched) and move on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
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
            "last_attempt_at": None,
            "last_status": None,
            "channels": [],
            "lease_owner": None,
            "created_at": now,
        }
        self.collection.update_one({"_id": delivery_id}, {"$setOnInsert": document}, upsert=True)
        return delivery_id

    def due(self, *, now: datetime, limit: int) -> list[str]:
        """Up to ``limit`` pending deliveries whose time has come, oldest first (ids only)."""
        found = self.collection.find(
            {"state": PENDING, "next_attempt_at": {"$lte": now}},
            {"_id": 1},
            sort=[("next_attempt_at", ASCENDING)],
            limit=limit,
        )
        return [str(document["_id"]) for document in found]

    def claim(self, delivery_id: str, *, now: datetime, lease: timedelta) -> Claim | None:
        """The delivery, claimed for one attempt by this instance; None when it is no longer
        due (delivered, or claimed meanwhile by another instance)."""
        found = self.collection.find_one_and_update(
            {"_id": delivery_id, "state": PENDING, "next_attempt_at": {"$lte": now}},
            {
                "$set": {"next_attempt_at": now + lease, "lease_owner": self.owner, "last_attempt_at": now},
                "$min": {"first_attempt_at": now},
                "$inc": {"attempts": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        if found is None:
            return None
        return Claim(
            delivery_id=found["_id"],
            order_id=found["order_id"],
            merchant_id=found["merchant_id"],
            kind=found["kind"],
            attempt=int(found["attempts"]),
            first_attempt_at=found["first_attempt_at"],
            channels=tuple(found.get("channels", [])),
        )

    def _mine(self, claim: Claim, update: dict[str, Any]) -> bool:
        """Write ``update`` if this instance still holds the claim."""
        condition = {
            "_id": claim.delivery_id,
            "lease_owner": self.owner,
            "attempts": claim.attempt,
            "state": PENDING,
        }
        return self.collection.update_one(condition, update).matched_count == 1

    def settle(
        self, claim: Claim, state: str, *, status: str, now: datetime, reached: Iterable[str] = ()
    ) -> bool:
        """The delivery ends ``state`` (delivered, dead, gone), with the channels it reached."""
        fields = {"state": state, "last_status": status, "lease_owner": None, "settled_at": now}
        return self._mine(claim, {"$set": fields, **_reaching(reached)})

    def retry_at(self, claim: Claim, when: datetime, *, status: str, reached: Iterable[str] = ()) -> bool:
        """The delivery tried again at ``when``; the channels this attempt reached are kept."""
        fields = {"next_attempt_at": when, "last_status": status, "lease_owner": None}
        return self._mine(claim, {"$set": fields, **_reaching(reached)})

    def counts(self, merchant_id: str | None = None) -> dict[str, int]:
        match: dict[str, Any] = {} if merchant_id is None else {"merchant_id": merchant_id}
        counted = {state: 0 for state in STATES}
        for row in self.collection.aggregate(
            [{"$match": match}, {"$group": {"_id": "$state", "n": {"$sum": 1}}}]
        ):
            counted[str(row["_id"])] = int(row["n"])
        return counted


def _reaching(channels: Iterable[str]) -> dict[str, Any]:
    reached = sorted(set(channels))
    return {"$addToSet": {"channels": {"$each": reached}}} if reached else {}


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
    reset = {"state": PENDING, "next_attempt_at": now, "lease_owner": None}
    update = {"$set": reset, "$unset": {"first_attempt_at": ""}}
    return collection.update_one({"_id": delivery_id, "state": DEAD}, update).modified_count == 1
