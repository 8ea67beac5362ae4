"""Where a payment's time goes, for bench/checkout.py: each paid order's latency (tap request
sent to PaymentCaptured read from the topic) cut at timestamps that exist without any change to
checkout, all on the one machine's wall clock:

- tap sent, tap answered, PaymentCaptured observed: the bench's own clock;
- ``created_at`` (after the catalogue and the merchant's terms are read, before the hold and the
  order are written) and ``confirmed_at`` (after the vault kept the address, as the confirmation
  is committed): the order document in checkout's database;
- the first Stripe request of the payment (its customer's creation, ``customer:<buyer>:...``)
  arriving at the fake, and the PaymentIntent's creation (``pay:<order>``) answered: the fake's
  request log (``/_fake/requests``, each request's arrival and duration); the time inside the
  fake's keyed requests is split from the time between them (the worker's own writes, the
  payment method look-up, the SDK);
- OrderConfirmed read from the topic by the bench (as the payment worker would read it: the
  outbox relay's share of the wait before the worker starts);
- PaymentCaptured's ``occurred_at``: set by checkout as it decides the capture, just before
  the write that commits it with the event in the order's outbox.

Consumes the bench's orders, the watcher's captures, checkout's order documents and the fake's
request log; produces the median of each phase (ms) over the orders where every timestamp was
found. Rule kept: the phases of one order add up to its latency on the wall clock (their
medians need not add up to the median latency).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

from checkout_load import Captured, Order

PHASES = (
    "tap_until_order_created",
    "hold_and_order_written",
    "confirm_until_committed",
    "confirmed_relayed_to_topic",
    "topic_to_first_stripe_call",
    "stripe_calls",
    "capture_decided",
    "capture_relayed_to_bench",
)


def keyed_requests(requests: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The fake's log by idempotency key (the first answered request of each)."""
    by_key: dict[str, Mapping[str, Any]] = {}
    for request in requests:
        key = request.get("idempotency_key")
        if key and request.get("status") is not None:
            by_key.setdefault(key, request)
    return by_key


def _end(request: Mapping[str, Any]) -> float:
    return float(request["at"]) + float(request["duration_ms"]) / 1000


def phases_of(
    order: Order,
    captured: Captured,
    confirmed_observed_at: float | None,
    document: Mapping[str, Any],
    stripe: Mapping[str, Mapping[str, Any]],
) -> dict[str, float] | None:
    """One order's phases in ms, or None when a timestamp is missing."""
    customer = next((r for k, r in stripe.items() if k.startswith(f"customer:{order.buyer_id}:")), None)
    attach, pay = stripe.get(f"attach:{order.order_id}"), stripe.get(f"pay:{order.order_id}")
    if (
        None in (customer, pay, order.tap_answered_at, confirmed_observed_at)
        or "confirmed_at" not in document
    ):
        return None
    assert customer is not None and pay is not None
    assert order.tap_answered_at is not None and confirmed_observed_at is not None
    in_stripe = sum(float(r["duration_ms"]) for r in (customer, attach, pay) if r is not None)
    milestones = [
        order.tap_sent_at,
        document["created_at"].timestamp(),
        order.tap_answered_at,
        document["confirmed_at"].timestamp(),
        confirmed_observed_at,
        float(customer["at"]),
        _end(pay),
        captured.occurred_at,
        captured.observed_at,
    ]
    cut = {name: (b - a) * 1000 for name, (a, b) in zip(PHASES, pairwise(milestones), strict=True)}
    cut["stripe_inside_fake"] = in_stripe
    cut["stripe_between_requests"] = cut["stripe_calls"] - in_stripe
    return cut


def median_phases(
    orders: Iterable[Order],
    seen: Mapping[str, Captured],
    confirmed_seen: Mapping[str, float],
    documents: Mapping[str, Mapping[str, Any]],
    stripe: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    cuts = []
    for order in orders:
        order_id = order.order_id
        if order_id is None or order_id not in seen or order_id not in documents:
            continue
        cut = phases_of(order, seen[order_id], confirmed_seen.get(order_id), documents[order_id], stripe)
        if cut is not None:
            cuts.append(cut)
    if not cuts:
        return {"orders": 0}
    medians = {name: round(statistics.median(c[name] for c in cuts), 1) for name in cuts[0]}
    return {"orders": len(cuts), "median_ms": medians}
