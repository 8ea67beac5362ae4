"""Tap Buy and cancel: the steps across aggregates, each one unit of work (no transaction spans
two documents; every step is safe to repeat and safe with several instances at once).

Buy: (1) the order the (buyer, key) names already exists → it is the answer; (2) the catalogue
and the merchant's terms decide price, fee, currency and merchant, and the gate must show this
buyer the button for this seller; (3) the hold, on the tweet's catalogue aggregate; (4) the
order, with BuyClicked in its outbox. A crash between (3) and (4) leaves a hold without an order:
the sweeper (expiry.py) releases it ``orphan_grace_s`` after it expires.

Cancel: the held order becomes cancelled with OrderCancelled, then its hold is released on the
catalogue (cause ``release:<order_id>``, so it happens once). A crash between the two leaves
the hold until it expires; the sweeper then releases it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from buybutton.auth import Principal
from buybutton.events.checkout import CancelReason
from buybutton.money import Money
from buybutton.rollout import GateRules
from buybutton.unit_of_work import AggregateStore
from checkout_service import holds, orders
from checkout_service.catalogue import variant


class NotShown(PermissionError):
    """The gate would not show this buyer the button for this seller."""


class TermsUnknown(LookupError):
    """The merchant's selling terms have not reached checkout yet."""


class KeyReused(ValueError):
    """The Idempotency-Key already named an order for a different request."""


class OrderNotFound(LookupError):
    """No such order for this buyer."""


def to_stored_precision(moment: datetime) -> datetime:
    """Milliseconds, as the database keeps times: the first answer equals every later read."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class BuyRequest:
    tweet_id: str
    variant_id: str
    quantity: int
    idempotency_key: str


@dataclass(frozen=True)
class Placed:
    order_id: str
    order: Mapping[str, Any]
    created: bool


@dataclass(frozen=True)
class Ended:
    """The order after an attempt to end it; ``cancelled_now``: this call cancelled it."""

    order: Mapping[str, Any]
    cancelled_now: bool


@dataclass
class Checkout:
    catalogue: AggregateStore
    terms: AggregateStore
    orders: AggregateStore
    hold_s: float
    clock: Callable[[], datetime]

    def buy(self, buyer: Principal, request: BuyRequest, rules: GateRules | None) -> Placed:
        order_id = orders.order_id_for(buyer.subject, request.idempotency_key)
        fingerprint = orders.request_fingerprint(request.tweet_id, request.variant_id, request.quantity)
        existing = self.orders.load(order_id)
        if existing.state is not None:
            if existing.state["request_fingerprint"] != fingerprint:
                raise KeyReused
            return Placed(order_id, existing.state, created=False)
        tweet = self.catalogue.load(request.tweet_id)
        if tweet.state is None or variant(tweet.state, request.variant_id) is None:
            raise holds.UnknownProduct
        merchant_id = str(tweet.state["merchant_id"])
        if rules is None or not rules.shows(buyer.subject, buyer.country, merchant_id):
            raise NotShown
        terms = self.terms.load(merchant_id)
        if terms.state is None:
            raise TermsUnknown
        now = to_stored_precision(self.clock())
        decide = holds.hold(
            order_id, request.variant_id, request.quantity, now + timedelta(seconds=self.hold_s)
        )
        held = self.catalogue.apply(request.tweet_id, decide, cause=holds.hold_cause(order_id))
        hold = holds.hold_of(held.aggregate.state, order_id)
        if hold is None:  # a concurrent tap of the same key held, ordered and released already
            return self._existing(order_id)
        assert held.aggregate.state is not None
        draft = orders.Draft(
            order_id=order_id,
            buyer_id=buyer.subject,
            tweet_id=request.tweet_id,
            merchant_id=merchant_id,
            product_id=str(held.aggregate.state["product_id"]),
            variant_id=request.variant_id,
            quantity=request.quantity,
            unit_price=Money(**held.aggregate.state["price"]),
            fee_bps=int(terms.state["fee_bps"]),
            stripe_account_id=str(terms.state["stripe_account_id"]),
            hold_expires_at=hold["expires_at"],
            created_at=now,
            idempotency_key_hash=orders.digest("key", request.idempotency_key),
            request_fingerprint=fingerprint,
        )
        created = self.orders.apply(order_id, orders.create(draft))
        assert created.aggregate.state is not None
        return Placed(order_id, created.aggregate.state, created=created.committed)

    def _existing(self, order_id: str) -> Placed:
        order = self.orders.load(order_id)
        if order.state is None:
            raise holds.SoldOut
        return Placed(order_id, order.state, created=False)

    def order_of(self, buyer: Principal, order_id: str) -> Mapping[str, Any]:
        order = self.orders.load(order_id)
        if order.state is None or order.state["buyer_id"] != buyer.subject:
            raise OrderNotFound  # another buyer's order is answered as missing: ids do not leak
        return order.state

    def cancel_by_buyer(self, buyer: Principal, order_id: str) -> Mapping[str, Any]:
        self.order_of(buyer, order_id)
        return self.end_order(order_id, "buyer_cancelled").order

    def end_order(
        self, order_id: str, reason: CancelReason, *, expired_before: datetime | None = None
    ) -> Ended:
        """Cancel the order (when it may be) and release its hold if it is cancelled."""
        outcome = self.orders.apply(order_id, orders.cancel(reason, expired_before=expired_before))
        order = outcome.aggregate.state
        assert order is not None
        if order["state"] == "cancelled":
            self.release(str(order["tweet_id"]), order_id)
        return Ended(order, cancelled_now=outcome.committed)

    def release(self, tweet_id: str, order_id: str) -> bool:
        outcome = self.catalogue.apply(tweet_id, holds.release(order_id), cause=holds.release_cause(order_id))
        return outcome.committed
