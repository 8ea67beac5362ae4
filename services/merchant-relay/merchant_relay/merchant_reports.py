"""What a merchant reports about one of its orders, as decisions on the relay's order aggregate
(collection ``relay_orders``, one document per order id, created by the delivery pipeline on
PaymentCaptured). Each answers a ``Decide`` for the unit of work; the events go into the
order's outbox, which the relay's outbox relay publishes on relay.deliveries.v1.

- ``acknowledged``: the merchant has taken the order in; ``acknowledged_at`` once, no event.
- ``shipped``: ``shipment`` {carrier, tracking_number}, state ``shipped``, OrderShipped.
- ``fulfilled``: ``fulfilment`` {download_link | licence_key, delivery_reference}, state
  ``fulfilled``, OrderFulfilled (``delivery_reference``: the licence key itself, or ``dl_`` and
  a digest of the link, with the link in ``download_link``).

The rules they keep, forward only: the same report again changes nothing and answers as
before (a retry is safe); a different shipment or fulfilment once one is recorded is refused
(ReportRefused: no second tracking number, no other download; a correction is a support case,
so the buyer never sees a number change under them); a shipment after a fulfilment is refused
(fulfilled is the last step), a fulfilment after a shipment is allowed (a physical good with a
digital part); nothing is reported on a refunded or cancelled order. A report sets
``acknowledged_at`` too when the merchant never acknowledged. ``state`` only moves up
(``shipped`` < ``fulfilled``; the pipeline's states before them count as lower).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from buybutton.events import Event, OrderFulfilled, OrderShipped
from buybutton.sensitive import card_free_derived
from buybutton.unit_of_work import Aggregate, Change, Decide

COLLECTION = "relay_orders"
PRODUCER = "merchant-relay"
CLOSED = frozenset({"refunded", "cancelled"})
RANK = {"shipped": 1, "fulfilled": 2}


class OrderNotFound(LookupError):
    """No such order for this merchant (another merchant's answers the same)."""


class ReportRefused(ValueError):
    """The report would move the order backwards or rewrite what the buyer was told."""


@dataclass(frozen=True)
class Fulfilment:
    download_link: str | None = None
    licence_key: str | None = None

    @property
    def delivery_reference(self) -> str:
        if self.licence_key is not None:
            return self.licence_key
        assert self.download_link is not None
        link = self.download_link
        return card_free_derived(lambda n: "dl_" + hashlib.sha256(f"{link}/{n}".encode()).hexdigest()[:24])

    def stored(self) -> dict[str, Any]:
        return {
            "download_link": self.download_link,
            "licence_key": self.licence_key,
            "delivery_reference": self.delivery_reference,
        }


def _own(order: Aggregate, merchant_id: str) -> Mapping[str, Any]:
    if order.state is None or order.state.get("merchant_id") != merchant_id:
        raise OrderNotFound
    return order.state


def _moved_up(current: str, target: str) -> str:
    return target if RANK.get(current, 0) < RANK[target] else current


def _report(
    order: Aggregate, state: Mapping[str, Any], field: str, value: dict[str, Any], event: Event, now: datetime
) -> Change | None:
    if state.get(field) == value:
        return None
    if state.get(field) is not None:
        raise ReportRefused(f"a different {field} is recorded already")
    if state["state"] in CLOSED:
        raise ReportRefused(f"the order is {state['state']}")
    target = "shipped" if field == "shipment" else "fulfilled"
    new_state = {
        **state,
        field: value,
        "state": _moved_up(state["state"], target),
        f"{target}_at": now,
        "acknowledged_at": state.get("acknowledged_at") or now,
    }
    return Change(new_state, [event])


def _common(order: Aggregate, merchant_id: str) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "correlation_id": order.id,
        "producer": PRODUCER,
        "merchant_id": merchant_id,
    }


def acknowledged(merchant_id: str, now: datetime) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = _own(order, merchant_id)
        if state.get("acknowledged_at") is not None:
            return None
        return Change({**state, "acknowledged_at": now})

    return decide


def shipped(merchant_id: str, carrier: str, tracking_number: str, now: datetime) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = _own(order, merchant_id)
        shipment = {"carrier": carrier, "tracking_number": tracking_number}
        if state.get("fulfilment") is not None and state.get("shipment") != shipment:
            raise ReportRefused("the order is fulfilled already")
        event = OrderShipped(**_common(order, merchant_id), carrier=carrier, tracking_number=tracking_number)
        return _report(order, state, "shipment", shipment, event, now)

    return decide


def fulfilled(merchant_id: str, fulfilment: Fulfilment, now: datetime) -> Decide:
    def decide(order: Aggregate) -> Change | None:
        state = _own(order, merchant_id)
        event = OrderFulfilled(
            **_common(order, merchant_id),
            delivery_reference=fulfilment.delivery_reference,
            download_link=fulfilment.download_link,
        )
        return _report(order, state, "fulfilment", fulfilment.stored(), event, now)

    return decide
