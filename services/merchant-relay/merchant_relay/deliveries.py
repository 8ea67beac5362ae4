"""The deliveries (collection ``deliveries``): one document per (order, kind), owned by the
delivery pipeline. ``_id`` is the webhook-id the merchant receives: ``msg_`` + a card-free
digest of the order id and the kind (and, from an order's second refund on, the refund's
number), so every attempt of one delivery, from any instance, before or after a restart,
carries the same id and receivers deduplicate by it.

Document: {_id, merchant_id, order_id, kind, state (pending | delivered | dead | gone),
attempts, next_attempt_at, first_attempt_at (absent until the first attempt), last_attempt_at,
last_status, channels (reached so far), standing (how it stands for the statistics: absent until
its first outcome, then failing | delivered | dead | gone, pending after a re-send), lease_owner,
created_at; and the outbox of its MerchantDeliveryChanged (``outbox``, ``outbox_pending``,
``lease``), which the shared outbox relay publishes}.

The rule it keeps: an attempt is made by one instance at a time. A claim is one
``find_one_and_update`` of one pending delivery whose ``next_attempt_at`` has come, moving
``next_attempt_at`` a lease ahead (the lease), naming the claimer and, the first time, stamping
``first_attempt_at``; the outcome (and the channels the attempt reached) is written only by the
claimer still holding that claim (same owner, same attempt), in one write. So an attempt costs
two writes. An instance that dies mid-attempt leaves the delivery to come due again when its
lease runs out, and another instance tries again under the same webhook-id (a channel it had
reached gets the message again, under that id).

An outcome that changes the delivery's standing, or first brings a paid order to the merchant,
carries its MerchantDeliveryChanged (delivery_changes.py) in that same write, as a unit of work
does: the statistics learn each change once, and only changes that happened.

Which deliveries are due is read in batches (``due``), oldest first; the worker's lanes then
claim them one by one by id, so the lanes of one instance never aim at the same delivery, and
instances that read the same batch lose a claim cheaply (nothing matched) and move on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection

from buybutton.events import MerchantDeliveryChanged
from buybutton.events.relay import DeliveryKind, DeliveryStanding
from buybutton.sensitive import card_free_derived
from buybutton.unit_of_work import outbox_entry
from merchant_relay import delivery_changes

COLLECTION = "deliveries"
PENDING: Final = "pending"
DELIVERED: Final = "delivered"
DEAD: Final = "dead"
GONE: Final = "gone"
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
    standing: DeliveryStanding | None = None


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
        first = found.get("first_attempt_at")
        if first is None:  # written before claims stamped it ($min keeps a stored null): stamp now
            first = now
            mine = {"_id": found["_id"], "lease_owner": self.owner, "attempts": found["attempts"]}
            self.collection.update_one(mine, {"$set": {"first_attempt_at": now}})
        return Claim(
            delivery_id=found["_id"],
            order_id=found["order_id"],
            merchant_id=found["merchant_id"],
            kind=found["kind"],
            attempt=int(found["attempts"]),
            first_attempt_at=first,
            channels=tuple(found.get("channels", [])),
            standing=found.get("standing"),
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
        self,
        claim: Claim,
        state: str,
        *,
        status: str,
        now: datetime,
        reached: Iterable[str] = (),
        change: MerchantDeliveryChanged | None = None,
    ) -> bool:
        """The delivery ends ``state`` (delivered, dead, gone), with the channels it reached and
        the change the statistics learn (if any)."""
        fields = {"state": state, "last_status": status, "lease_owner": None, "settled_at": now}
        return self._mine(claim, _outcome(fields, reached, change))

    def retry_at(
        self,
        claim: Claim,
        when: datetime,
        *,
        status: str,
        reached: Iterable[str] = (),
        change: MerchantDeliveryChanged | None = None,
    ) -> bool:
        """The delivery tried again at ``when``; the channels this attempt reached are kept."""
        fields = {"next_attempt_at": when, "last_status": status, "lease_owner": None}
        return self._mine(claim, _outcome(fields, reached, change))

    def counts(self, merchant_id: str | None = None) -> dict[str, int]:
        match: dict[str, Any] = {} if merchant_id is None else {"merchant_id": merchant_id}
        counted = {state: 0 for state in STATES}
        for row in self.collection.aggregate(
            [{"$match": match}, {"$group": {"_id": "$state", "n": {"$sum": 1}}}]
        ):
            counted[str(row["_id"])] = int(row["n"])
        return counted


def _outcome(
    fields: dict[str, Any], reached: Iterable[str], change: MerchantDeliveryChanged | None
) -> dict[str, Any]:
    """One attempt's outcome as one update: its fields, the channels reached, and the change
    for the statistics appended to the document's outbox (with its standing)."""
    update: dict[str, Any] = {"$set": dict(fields)}
    channels = sorted(set(reached))
    if channels:
        update["$addToSet"] = {"channels": {"$each": channels}}
    if change is not None:
        _told(update, change)
    return update


def _told(update: dict[str, Any], change: MerchantDeliveryChanged) -> None:
    update["$set"].update(standing=change.standing, outbox_pending=True)
    update["$push"] = {"outbox": outbox_entry(change)}


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
    webhook-id stays (a receiver that has it already drops the repeat). The statistics learn
    it (dead to pending) in the same write."""
    dead = collection.find_one({"_id": delivery_id, "state": DEAD}, {"outbox": 0})
    if dead is None:
        return False
    update: dict[str, Any] = {
        "$set": {"state": PENDING, "next_attempt_at": now, "lease_owner": None},
        "$unset": {"first_attempt_at": ""},
    }
    _told(update, delivery_changes.after_resend(dead))
    still_dead = {"_id": delivery_id, "state": DEAD, "attempts": dead["attempts"]}
    return collection.update_one(still_dead, update).modified_count == 1
