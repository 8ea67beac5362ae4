"""Stock held for tapped Buys, on the catalogue aggregate of the tweet (catalogue.py), so that
a hold is one conditional write of the one document that knows the stock.

available = supplied - held - sold, per variant, where held counts every hold not yet released
(an expired hold still counts until the sweeper releases it, so the stock is never promised
twice). A hold is marked ``hold:<order_id>`` in the inbox and a release ``release:<order_id>``,
and both look for the order's hold first, so each happens once however often it is asked for,
by however many instances. Decisions are pure; SoldOut and UnknownProduct refuse a hold with
nothing written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from buybutton.unit_of_work import Aggregate, Change, Decide
from checkout_service.catalogue import variant


class UnknownProduct(LookupError):
    """No such tweet, or no such variant of its product, in checkout's catalogue."""


class SoldOut(Exception):
    """Fewer units are available than asked for."""


def hold_cause(order_id: str) -> str:
    return f"hold:{order_id}"


def release_cause(order_id: str) -> str:
    return f"release:{order_id}"


def available(state: Mapping[str, Any], variant_id: str) -> int:
    found = variant(state, variant_id)
    if found is None:
        return 0
    held = sum(int(h["quantity"]) for h in state.get("holds", []) if h["variant_id"] == variant_id)
    return int(found["supplied"]) - int(found["sold"]) - held


def hold_of(state: Mapping[str, Any] | None, order_id: str) -> Mapping[str, Any] | None:
    return next((h for h in (state or {}).get("holds", []) if h["order_id"] == order_id), None)


def hold(order_id: str, variant_id: str, quantity: int, expires_at: datetime) -> Decide:
    def decide(tweet: Aggregate) -> Change | None:
        if tweet.state is None or variant(tweet.state, variant_id) is None:
            raise UnknownProduct("no such product variant")
        if hold_of(tweet.state, order_id) is not None:
            return None  # this order's units are held already
        if available(tweet.state, variant_id) < quantity:
            raise SoldOut(variant_id)
        entry = {
            "order_id": order_id,
            "variant_id": variant_id,
            "quantity": quantity,
            "expires_at": expires_at,
        }
        return Change({**tweet.state, "holds": [*tweet.state.get("holds", []), entry]})

    return decide


def release(order_id: str) -> Decide:
    def decide(tweet: Aggregate) -> Change | None:
        if tweet.state is None or hold_of(tweet.state, order_id) is None:
            return None  # released already (or never held)
        holds = [h for h in tweet.state.get("holds", []) if h["order_id"] != order_id]
        return Change({**tweet.state, "holds": holds})

    return decide


def expired_holds(state: Mapping[str, Any], before: datetime) -> list[Mapping[str, Any]]:
    return [h for h in state.get("holds", []) if h["expires_at"] < before]
