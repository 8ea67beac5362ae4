"""The payment worker: checkout's second consumer group (``checkout-service-payments``) over its
own orders topic, concurrent across orders and in order within one (the consume loop's lanes,
keyed by order_id), so one slow Stripe call stalls only its own order.

Consumes checkout.orders.v1 and does, per event:
- OrderConfirmed, PaymentCheckRequested → ``settle``: a confirming order is paid (the buyer's
  Stripe customer, created once per buyer; the payment method given, attached to it, or the
  vault's saved one off session; one PaymentIntent, confirmed, with the fee as
  application_fee_amount and the merchant's account as transfer_data.destination); an order
  waiting for 3-D Secure is looked up at Stripe, and canceled there first if its hold expired.
  Each outcome is one unit of work on the order (order_payment.py): PaymentCaptured,
  PaymentActionRequired, PaymentFailed or OrderCancelled.
- PaymentCaptured → the hold becomes sold units; with ``remember``, the vault keeps the
  customer, the payment method and the card's display data for one tap next time.
- PaymentFailed, OrderCancelled → the hold is released.
- RefundRequested → the refund at Stripe, then PaymentRefunded.

Exactly one charge whatever is redelivered, raced or restarted: every Stripe call's
idempotency key is a pure function of the order (``pay:<order_id>``, ``attach:<order_id>``,
``cancel:<order_id>``, ``refund:<refund_id>``), and each outcome is committed only from the state
it follows. A transient failure (Stripe, the vault or the database away) is raised to the
consume loop, which retries the record with backoff and never dead-letters it; a decline, or a
request Stripe refuses for good (StripeRefused), is final and ends in PaymentFailed with its
code. An IdempotencyConflict (a key reused with other parameters: a bug, since an order's amount
never changes) is raised: the record is dead-lettered, loudly, and nothing is charged twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

from buybutton.events import (
    OrderCancelled,
    OrderConfirmed,
    PaymentCaptured,
    PaymentCheckRequested,
    PaymentFailed,
    RefundRequested,
)
from buybutton.kafka.consumer import Routes
from buybutton.unit_of_work import AggregateStore, Decide
from checkout_service import customers, holds, order_payment
from checkout_service.payment_outcomes import (
    ActionRequired,
    Canceled,
    Captured,
    CardDisplay,
    Declined,
    PaymentOutcome,
    PaymentRequest,
    Processing,
    RefundOutcome,
    StripeRefused,
)
from checkout_service.vault_client import VaultClient

log = structlog.get_logger(__name__)


class PaymentGateway(Protocol):
    """What the worker needs of Stripe (stripe_gateway.StripeGateway)."""

    async def ensure_customer(self, *, buyer_ref: str, idempotency_key: str) -> str: ...
    async def attach_payment_method(
        self, payment_method: str, *, customer_id: str, idempotency_key: str
    ) -> tuple[str, CardDisplay]: ...
    async def pay(self, request: PaymentRequest) -> PaymentOutcome: ...
    async def payment_status(self, payment_intent_id: str) -> PaymentOutcome: ...
    async def cancel_payment(self, payment_intent_id: str, *, idempotency_key: str) -> PaymentOutcome: ...
    async def refund(
        self, *, payment_intent_id: str, amount_minor: int, idempotency_key: str, metadata: dict[str, str]
    ) -> RefundOutcome: ...
    async def delete_customer(self, customer_id: str) -> None: ...


def pay_key(order_id: str) -> str:
    return f"pay:{order_id}"


@dataclass
class PaymentWorker:
    orders: AggregateStore
    customers: AggregateStore
    catalogue: AggregateStore
    gateway: PaymentGateway
    vault: VaultClient
    clock: Callable[[], datetime]
    return_url: str | None = None

    async def _apply(self, store: AggregateStore, key: str, decide: Decide, cause: str | None = None) -> Any:
        return await asyncio.to_thread(store.apply, key, decide, cause=cause)

    async def _order(self, order_id: str) -> Mapping[str, Any] | None:
        return (await asyncio.to_thread(self.orders.load, order_id)).state

    # --- paying -------------------------------------------------------------------------------

    async def settle(self, order_id: str) -> None:
        order = await self._order(order_id)
        if order is None:
            return
        if order["state"] == "confirming":
            outcome = await self._pay(order_id, order)
        elif order["state"] == "requires_action":
            outcome = await self._look_up(order_id, order)
        else:
            return  # paid, failed, cancelled or later: settled already
        await self._conclude(order_id, outcome)

    async def _look_up(self, order_id: str, order: Mapping[str, Any]) -> PaymentOutcome:
        payment_intent_id = str(order["payment_intent_id"])
        outcome = await self.gateway.payment_status(payment_intent_id)
        if isinstance(outcome, ActionRequired | Processing) and order["hold_expires_at"] <= self.clock():
            # the buyer did not finish in time: cancel at Stripe first, so no money can move later
            outcome = await self.gateway.cancel_payment(
                payment_intent_id, idempotency_key=f"cancel:{order_id}"
            )
        return outcome

    async def _pay(self, order_id: str, order: Mapping[str, Any]) -> PaymentOutcome:
        buyer_id = str(order["buyer_id"])
        confirmation = order["confirmation"]
        customer_id = await self._customer(buyer_id)
        if confirmation["uses_saved_profile"]:
            saved = await self.vault.payment_references(buyer_id, order_id)
            if saved is None:
                return Declined(None, "no_saved_payment_method")
            payment_method_id = str(saved["default_payment_method_id"])
            customer_id = str(saved.get("stripe_customer_id") or customer_id)
        else:
            given = confirmation.get("payment_method_ref")
            if not given:
                return Declined(None, "payment_method_forgotten")  # erased while being paid
            try:
                payment_method_id, card = await self.gateway.attach_payment_method(
                    str(given), customer_id=customer_id, idempotency_key=f"attach:{order_id}"
                )
            except StripeRefused as refusal:
                return Declined(None, refusal.code)
            await self._apply(
                self.orders, order_id, order_payment.payment_method_attached(payment_method_id, vars(card))
            )
        amount, fee = order["amount"], order["platform_fee"]
        request = PaymentRequest(
            order_id=order_id,
            amount_minor=int(amount["amount_minor"]),
            currency=str(amount["currency"]),
            customer_id=customer_id,
            payment_method_id=payment_method_id,
            application_fee_minor=int(fee["amount_minor"]),
            destination_account=str(order["stripe_account_id"]),
            off_session=bool(confirmation["uses_saved_profile"]),
            save_for_off_session=bool(confirmation["remember"]) and not confirmation["uses_saved_profile"],
            idempotency_key=pay_key(order_id),
            metadata={"order_id": order_id, "merchant_id": str(order["merchant_id"])},
            return_url=None if confirmation["uses_saved_profile"] else self.return_url,
        )
        try:
            return await self.gateway.pay(request)
        except StripeRefused as refusal:  # e.g. an amount under Stripe's minimum: it will not pay
            log.warning("payment refused by stripe", order_id=order_id, code=refusal.code)
            return Declined(None, refusal.code)

    async def _customer(self, buyer_id: str) -> str:
        mapping = await asyncio.to_thread(self.customers.load, buyer_id)
        if mapping.state and mapping.state.get("customer_id"):
            return str(mapping.state["customer_id"])
        key = customers.creation_key(buyer_id, mapping)
        created = await self.gateway.ensure_customer(buyer_ref=buyer_id, idempotency_key=key)
        kept = await self._apply(self.customers, buyer_id, customers.known(created, key))
        return str((kept.aggregate.state or {}).get("customer_id") or created)

    async def _conclude(self, order_id: str, outcome: PaymentOutcome) -> None:
        decide: Decide | None = None
        if isinstance(outcome, Captured):
            decide = order_payment.captured(outcome)
        elif isinstance(outcome, ActionRequired):
            decide = order_payment.action_required(outcome)
        elif isinstance(outcome, Declined):
            decide = order_payment.failed(outcome.code, outcome.payment_intent_id)
        elif isinstance(outcome, Canceled):
            decide = order_payment.abandoned()
        if decide is None:  # Processing: Stripe's webhook (or the sweeper's check) comes back to it
            log.info("payment processing at stripe", order_id=order_id)
            return
        await self._apply(self.orders, order_id, decide)
        log.info("payment step", order_id=order_id, outcome=type(outcome).__name__)

    # --- after the outcome ----------------------------------------------------------------------

    async def on_captured(self, event: PaymentCaptured) -> None:
        order = await self._order(event.order_id)
        if order is None:
            return
        await self._apply(
            self.catalogue,
            str(order["tweet_id"]),
            holds.sell(event.order_id),
            holds.sell_cause(event.order_id),
        )
        confirmation = order.get("confirmation") or {}
        if confirmation.get("remember") and not confirmation.get("uses_saved_profile"):
            await self._remember(event.order_id, order)

    async def _remember(self, order_id: str, order: Mapping[str, Any]) -> None:
        customer = await asyncio.to_thread(self.customers.load, str(order["buyer_id"]))
        customer_id = (customer.state or {}).get("customer_id")
        if not customer_id or not order.get("payment_method_id"):
            return  # erased meanwhile: nothing to remember
        changes = {
            "stripe_customer_id": customer_id,
            "default_payment_method_id": order["payment_method_id"],
            "card": order.get("card"),
            "remember_me": True,
        }
        await self.vault.remember(str(order["buyer_id"]), changes)

    async def on_ended(self, event: PaymentFailed | OrderCancelled) -> None:
        order = await self._order(event.order_id)
        if order is not None and order["state"] in ("failed", "cancelled"):
            await self._apply(
                self.catalogue,
                str(order["tweet_id"]),
                holds.release(event.order_id),
                holds.release_cause(event.order_id),
            )

    async def refund(self, event: RefundRequested) -> None:
        order = await self._order(event.order_id)
        entry = next((r for r in (order or {}).get("refunds", []) if r["refund_id"] == event.refund_id), None)
        if order is None or entry is None or entry["status"] != "requested":
            return
        outcome = await self.gateway.refund(
            payment_intent_id=str(order["payment_intent_id"]),
            amount_minor=int(entry["amount_minor"]),
            idempotency_key=f"refund:{event.refund_id}",
            metadata={"order_id": event.order_id, "refund_id": event.refund_id},
        )
        if outcome.status in ("succeeded", "pending"):
            await self._apply(
                self.orders, event.order_id, order_payment.refunded(event.refund_id, outcome.refund_id)
            )
        else:
            log.error("refund not accepted by stripe", order_id=event.order_id, status=outcome.status)

    def routes(self) -> Routes:
        async def settle_event(event: OrderConfirmed | PaymentCheckRequested) -> None:
            await self.settle(event.order_id)

        return {
            OrderConfirmed: settle_event,
            PaymentCheckRequested: settle_event,
            PaymentCaptured: self.on_captured,
            PaymentFailed: self.on_ended,
            OrderCancelled: self.on_ended,
            RefundRequested: self.refund,
        }


async def forget_buyer(
    buyer_id: str,
    *,
    customers_store: AggregateStore,
    orders_of_buyer: Callable[[str], list[str]],
    orders_store: AggregateStore,
    gateway: PaymentGateway,
    now: datetime,
) -> None:
    """BuyerDataErased: delete the buyer's Stripe customer, forget the mapping and the orders'
    payment references; the orders' economics stay."""
    mapping = await asyncio.to_thread(customers_store.load, buyer_id)
    customer_id = (mapping.state or {}).get("customer_id")
    if customer_id:
        await gateway.delete_customer(str(customer_id))  # a customer deleted already counts as done
        await asyncio.to_thread(customers_store.apply, buyer_id, customers.forgotten(now))
    for order_id in await asyncio.to_thread(orders_of_buyer, buyer_id):
        await asyncio.to_thread(orders_store.apply, order_id, order_payment.payment_references_forgotten())
