"""Per-merchant delivery statistics: the fold of MerchantDeliveryChanged into one record per
merchant, which the stats table keeps (stats_stream.py) and the merchant API serves (api_stats.py).

A merchant's record: ``forwarded`` (paid orders that reached the merchant on any channel),
``delivered`` (deliveries it received, of every kind), ``failing`` (deliveries being retried
now), ``dead`` (deliveries past their horizon, until re-sent), ``gone`` (stopped by a 410),
``gmv`` and ``payouts`` (of the forwarded orders, integer minor units per currency), and
``updated_at`` (the newest change's time).

Exactly once, under at-least-once input: every record also keeps the partition offset of the
last input it applied (the input topic is keyed by merchant, so one merchant's changes are one
partition's, in order) and the ids of its newest ``RECENT`` changes. A record read again after a
restart (offset not past the one applied) or a change the outbox relay sent twice (the same
event id) leaves the record as it is. Both are kept in the record itself, which the table
writes as one changelog record, so the record and what it has applied never part.
"""

from __future__ import annotations

from typing import Any

from buybutton.events import MerchantDeliveryChanged

RECENT = 500
COUNTS = ("forwarded", "delivered", "failing", "dead", "gone")
COUNTED = ("delivered", "failing", "dead", "gone")  # standings counted (pending is not)
LEFT_BEHIND = ("failing", "dead")  # the counted standings a delivery can move on from


def empty(merchant_id: str) -> dict[str, Any]:
    return {
        "merchant_id": merchant_id,
        **dict.fromkeys(COUNTS, 0),
        "gmv": {},
        "payouts": {},
        "updated_at": None,
        "applied_offset": -1,
        "recent": [],
    }


def applied(
    record: dict[str, Any] | None, change: MerchantDeliveryChanged, offset: int
) -> dict[str, Any] | None:
    """The merchant's record with ``change`` (read at ``offset``) applied, or None when it has
    been applied already (the record stays as it is)."""
    current = record or empty(change.merchant_id)
    if offset <= current["applied_offset"] or change.event_id in current["recent"]:
        return None
    after = {**current, "gmv": dict(current["gmv"]), "payouts": dict(current["payouts"])}
    if change.previous in LEFT_BEHIND and change.previous != change.standing:
        after[change.previous] -= 1
    if change.standing in COUNTED and change.standing != change.previous:
        after[change.standing] += 1
    if change.forwarded:
        after["forwarded"] += 1
        _add(after["gmv"], change.amount)
        _add(after["payouts"], change.payout)
    after["updated_at"] = change.occurred_at.isoformat()
    after["applied_offset"] = offset
    after["recent"] = [*current["recent"], change.event_id][-RECENT:]
    return after


def _add(totals: dict[str, int], money: Any) -> None:
    if money is not None:
        totals[money.currency] = totals.get(money.currency, 0) + money.amount_minor


def public(record: dict[str, Any] | None, merchant_id: str) -> dict[str, Any]:
    """What the merchant API shows of a record (the bookkeeping of what it applied left out)."""
    shown = record or empty(merchant_id)
    return {key: shown[key] for key in ("merchant_id", *COUNTS, "gmv", "payouts", "updated_at")}
