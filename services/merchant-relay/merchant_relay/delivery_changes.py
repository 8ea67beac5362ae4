"""What the per-merchant statistics learn from one delivery's outcome: the MerchantDeliveryChanged
that the outcome's write carries in the delivery document's outbox (deliveries.py), or None when
nothing a statistic counts changed (a failing delivery failing again).

A delivery's standing: pending until its first outcome (and again after a re-send), failing
while it is retried, then delivered, dead or gone. The change is told when the standing moves,
and when a paid order first reaches the merchant on any channel (``forwarded``, with the
order's amount and payout: GMV and payouts count there). Its event id and sequence derive from
the delivery and the attempt, so a repeat by the outbox relay is recognisably the same change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from buybutton.events import MerchantDeliveryChanged
from buybutton.events.relay import DeliveryStanding
from buybutton.money import Money
from buybutton.unit_of_work import derived_event_id

if TYPE_CHECKING:  # deliveries.py imports this module for its re-sends
    from merchant_relay.deliveries import Claim

PRODUCER = "merchant-relay"


def after_attempt(
    claim: Claim,
    *,
    standing: DeliveryStanding,
    reached: Iterable[str],
    order: Mapping[str, Any] | None,
) -> MerchantDeliveryChanged | None:
    """The change the attempt of ``claim`` made, if any, ending ``standing`` with the channels
    ``reached`` (``order``: the merchant's copy of the paid order, for its amount and payout)."""
    previous, kind = claim.standing, claim.kind
    forwarded = kind == "order.paid" and not claim.channels and bool(set(reached)) and bool(order)
    if standing == previous and not forwarded:
        return None
    worth = _worth(order) if forwarded else {}
    return MerchantDeliveryChanged.model_validate(
        {
            "event_id": derived_event_id(
                f"{claim.delivery_id}/{claim.attempt}", "MerchantDeliveryChanged", 0
            ),
            "sequence": 2 * claim.attempt,
            "correlation_id": claim.order_id,
            "producer": PRODUCER,
            "merchant_id": claim.merchant_id,
            "order_id": claim.order_id,
            "delivery_id": claim.delivery_id,
            "kind": kind,
            "previous": previous,
            "standing": standing,
            "forwarded": forwarded,
            **worth,
        }
    )


def after_resend(document: Mapping[str, Any]) -> MerchantDeliveryChanged:
    """A dead delivery sent again: dead to pending (numbered after its last attempt)."""
    attempts = int(document["attempts"])
    return MerchantDeliveryChanged(
        event_id=derived_event_id(f"{document['_id']}/resend/{attempts}", "MerchantDeliveryChanged", 0),
        sequence=2 * attempts + 1,
        correlation_id=document["order_id"],
        producer=PRODUCER,
        merchant_id=document["merchant_id"],
        order_id=document["order_id"],
        delivery_id=document["_id"],
        kind=document["kind"],
        previous="dead",
        standing="pending",
    )


def _worth(order: Mapping[str, Any] | None) -> dict[str, Money]:
    assert order is not None
    return {"amount": Money.model_validate(order["amount"]), "payout": Money.model_validate(order["payout"])}
