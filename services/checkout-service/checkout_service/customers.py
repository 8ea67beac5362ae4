"""Each buyer's Stripe customer, one aggregate per buyer (``customers/{buyer_id}``:
customer_id, generation, erased_at), so a buyer has one Stripe customer however many orders and
workers pay at once: the customer is created with the idempotency key
``customer:<buyer_id>:<generation>`` and kept with a conditional write, and two workers racing
for a new buyer send the same key and get the same customer.

Erasure (BuyerDataErased) deletes the customer at Stripe and forgets the mapping; the generation
goes up so that a buyer who comes back gets a new customer, never a replay of the deleted one.
"""

from __future__ import annotations

from datetime import datetime

from buybutton.unit_of_work import Aggregate, Change, Decide

COLLECTION = "customers"


def creation_key(buyer_id: str, customer: Aggregate) -> str:
    generation = int((customer.state or {}).get("generation", 0))
    return f"customer:{buyer_id}:{generation}"


def known(customer_id: str, generation_key: str) -> Decide:
    """Keep ``customer_id`` unless a customer is known already (the first one stays), and only
    for the generation whose key created it."""

    def decide(customer: Aggregate) -> Change | None:
        state = customer.state or {}
        if state.get("customer_id") or creation_key(customer.id, customer) != generation_key:
            return None
        return Change({**state, "customer_id": customer_id, "generation": int(state.get("generation", 0))})

    return decide


def forgotten(now: datetime) -> Decide:
    def decide(customer: Aggregate) -> Change | None:
        state = customer.state
        if state is None or not state.get("customer_id"):
            return None
        generation = int(state.get("generation", 0)) + 1
        return Change({"customer_id": None, "generation": generation, "erased_at": now})

    return decide
