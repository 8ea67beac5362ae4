"""Stock held for tapped Buys, on the catalogue aggregate of the tweet (catalogue.py), so that
a hold is one conditional write of the one document that knows the stock.

available = supplied - held - sold, per variant (catalogue.available), where held counts every
hold not yet released (an expired hold still counts until the sweeper releases it, so the stock
is never promised twice). A hold is marked ``hold:<order_id>`` in the inbox, a release
``release:<order_id>`` and a sale (the paid order's hold turned into sold units)
``sell:<order_id>``; each looks for the order's hold first, so each happens once however often
it is asked for, by however many instances. Decisions are pure; SoldOut and UnknownProduct
refuse a hold with nothing written. Each change that turns a variant sold out or back carries
StockAvailabilityChanged (catalogue.with_availability).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from buybutton.unit_of_work import Aggregate, Change, Decide
from checkout_service.catalogue import available, variant, with_availability


class UnknownProduct(LookupError):
    """No such tweet, or no such variant of its product, in checkout's catalogue."""


class SoldOut(Exception):
    """Fewer units are available than asked for."""


def hold_cause(order_id: str) -> str:
    return f"hold:{order_id}"


def release_cause(order_id: str) -> str:
    return f"release:{order_id}"


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
        return with_availability(
            tweet, Change({**tweet.state, "holds": [*tweet.state.get("holds", []), entry]})
        )

    return decide


def release(order_id: str) -> Decide:
    def decide(tweet: Aggregate) -> Change | None:
        if tweet.state is None or hold_of(tweet.state, order_id) is None:
            return None  # released already (or never held)
        holds = [h for h in tweet.state.get("holds", []) if h["order_id"] != order_id]
        return with_availability(tweet, Change({**tweet.state, "holds": holds}))

    return decide


def sell_cause(order_id: str) -> str:
    return f"sell:{order_id}"


def sell(order_id: str) -> Decide:
    """The order was paid: its held units become sold (available stays as it was)."""

    def decide(tweet: Aggregate) -> Change | None:
        held = hold_of(tweet.state, order_id)
        if tweet.state is None or held is None:
            return None  # sold already (or the hold is gone: nothing left to turn into a sale)
        holds = [h for h in tweet.state.get("holds", []) if h["order_id"] != order_id]
        variants = [
            {**v, "sold": v["sold"] + held["quantity"]} if v["variant_id"] == held["variant_id"] else v
            for v in tweet.state["variants"]
        ]
        return with_availability(tweet, Change({**tweet.state, "holds": holds, "variants": variants}))

    return decide


def expired_holds(state: Mapping[str, Any], before: datetime) -> list[Mapping[str, Any]]:
    return [h for h in state.get("holds", []) if h["expires_at"] < before]
