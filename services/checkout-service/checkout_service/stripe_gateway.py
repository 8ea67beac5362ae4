"""checkout-service's only way to Stripe: customers, payment methods, PaymentIntents, refunds
and webhook verification, over the official SDK (``stripe.StripeClient``, async calls on its
httpx client). Only the base URL and the key differ between real Stripe test mode, stripe-mock
and the fake Stripe.

Consumes: the caller's idempotency keys (pure functions of the order, so any retry replays
Stripe's first answer instead of charging again). Produces: payment_outcomes.py values, or one
of its errors as stripe_errors.py classifies them (each request sent through stripe_calls.py).
Rules kept:

- The SDK never retries (``max_network_retries=0``): the SDK would retry 409s, 5xx and dropped
  connections with its own backoff, hiding slow minutes inside one call and a second decision
  point beside the consume loop's. Here a 429 alone is waited out (Retry-After, capped, at most
  ``rate_limit_waits`` times, same key); every other transient failure goes straight back as
  ``StripeUnavailable`` for the caller to retry with the same key.
- Nothing of a card or a buyer is logged or sent beyond what Stripe needs: customers carry only
  ``metadata.buyer_ref``; logs carry the operation, Stripe's request id, status and error code.
"""

from __future__ import annotations

import asyncio
import logging

import stripe
import structlog
from stripe.params import RefundCreateParams

from checkout_service.config import Settings
from checkout_service.payment_outcomes import (
    CardDisplay,
    PaymentOutcome,
    PaymentRequest,
    RefundOutcome,
    StripeRefused,
)
from checkout_service.stripe_calls import Sleep, StripeCaller
from checkout_service.stripe_intents import create_parameters, declined_by, outcome_of

log = structlog.get_logger(__name__)
WEBHOOK_TOLERANCE_S = 300  # Stripe's default: an older signature is a replay
NO_LONGER_CANCELABLE = "payment_intent_unexpected_state"
MISSING = "resource_missing"


class InvalidWebhook(Exception):
    """A webhook whose Stripe-Signature is missing, forged, for another body, or too old."""


class StripeGateway:
    def __init__(
        self,
        client: stripe.StripeClient,
        *,
        rate_limit_waits: int,
        retry_after_cap_s: float,
        webhook_secret: str = "",
        webhook_tolerance_s: int = WEBHOOK_TOLERANCE_S,
        sleep: Sleep = asyncio.sleep,
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        self._client = client
        self._send = StripeCaller(
            rate_limit_waits=rate_limit_waits, retry_after_cap_s=retry_after_cap_s, sleep=sleep
        )
        self._webhook_secret = webhook_secret
        self._webhook_tolerance_s = webhook_tolerance_s
        self._http_client = http_client

    @classmethod
    def from_settings(cls, settings: Settings, *, sleep: Sleep = asyncio.sleep) -> StripeGateway:
        # at INFO and below the SDK logs request parameters and Stripe's messages itself
        logging.getLogger("stripe").setLevel(logging.WARNING)
        http_client = stripe.HTTPXClient(timeout=settings.stripe_timeout_s)
        client = stripe.StripeClient(
            settings.stripe_secret_key.get_secret_value(),
            base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
            max_network_retries=0,
            http_client=http_client,
        )
        return cls(
            client,
            rate_limit_waits=settings.stripe_rate_limit_waits,
            retry_after_cap_s=settings.stripe_retry_after_cap_s,
            webhook_secret=settings.stripe_webhook_secret.get_secret_value(),
            sleep=sleep,
            http_client=http_client,
        )

    async def start(self) -> None:
        """Nothing to open ahead: the first call connects (a part of the service runtime)."""

    async def stop(self) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http_client is not None:
            await self._http_client.close_async()  # type: ignore[no-untyped-call]  # untyped in the SDK

    async def ensure_customer(self, *, buyer_ref: str, idempotency_key: str) -> str:
        customer = await self._send(
            "create_customer",
            lambda: self._client.v1.customers.create_async(
                {"metadata": {"buyer_ref": buyer_ref}}, {"idempotency_key": idempotency_key}
            ),
        )
        return customer.id

    async def attach_payment_method(
        self, payment_method: str, *, customer_id: str, idempotency_key: str
    ) -> tuple[str, CardDisplay]:
        """Attach what Stripe.js gave to the customer; already this customer's: fine."""
        try:
            attached = await self._send(
                "attach_payment_method",
                lambda: self._client.v1.payment_methods.attach_async(
                    payment_method, {"customer": customer_id}, {"idempotency_key": idempotency_key}
                ),
            )
        except StripeRefused as refused:
            found = await self._already_attached(payment_method, customer_id)
            if found is None:
                raise refused from None
            attached = found
        card = attached.card
        if card is None:
            raise StripeRefused("not_a_card", "the payment method is not a card")
        return attached.id, CardDisplay(card.brand, card.last4, card.exp_month, card.exp_year)

    async def pay(self, request: PaymentRequest) -> PaymentOutcome:
        try:
            intent = await self._send(
                "create_payment_intent",
                lambda: self._client.v1.payment_intents.create_async(
                    create_parameters(request), {"idempotency_key": request.idempotency_key}
                ),
            )
        except stripe.CardError as error:
            declined = declined_by(error)
            log.info(
                "stripe_declined", request_id=error.request_id, code=declined.code, order_id=request.order_id
            )
            return declined
        return outcome_of(intent)

    async def payment_status(self, payment_intent_id: str) -> PaymentOutcome:
        return outcome_of(await self._retrieve_intent(payment_intent_id))

    async def cancel_payment(self, payment_intent_id: str, *, idempotency_key: str) -> PaymentOutcome:
        """Cancel; when Stripe says it can no longer be (it succeeded meanwhile, say), where it stands."""
        try:
            intent = await self._send(
                "cancel_payment_intent",
                lambda: self._client.v1.payment_intents.cancel_async(
                    payment_intent_id, None, {"idempotency_key": idempotency_key}
                ),
            )
        except StripeRefused as refused:
            if refused.code != NO_LONGER_CANCELABLE:
                raise
            intent = await self._retrieve_intent(payment_intent_id)
        return outcome_of(intent)

    async def refund(
        self,
        *,
        payment_intent_id: str,
        amount_minor: int | None,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> RefundOutcome:
        """Refund ``amount_minor`` (None: all that is left) of the order's destination charge.

        A refund undoes that part of the sale for everyone, as Stripe documents for destination
        charges: ``reverse_transfer`` takes the merchant's share back from the connected account
        in proportion (otherwise the platform alone pays the refund), and
        ``refund_application_fee`` gives up the platform's fee in the same proportion (Stripe
        requires the transfer reversed when the fee is refunded). Nobody keeps a fee on money the
        buyer got back."""
        params: RefundCreateParams = {
            "payment_intent": payment_intent_id,
            "reverse_transfer": True,
            "refund_application_fee": True,
            "metadata": metadata,
        }
        if amount_minor is not None:
            params["amount"] = amount_minor
        refund = await self._send(
            "create_refund",
            lambda: self._client.v1.refunds.create_async(params, {"idempotency_key": idempotency_key}),
        )
        return RefundOutcome(refund.id, refund.status or "pending", refund.amount)

    async def delete_customer(self, customer_id: str) -> None:
        """Gone afterwards, whether deleted now, before, or never there."""
        try:
            await self._send("delete_customer", lambda: self._client.v1.customers.delete_async(customer_id))
        except StripeRefused as refused:
            if refused.code != MISSING:
                raise

    def verify_webhook(self, payload: bytes, signature_header: str | None) -> stripe.Event:
        """The event, once the SDK's verifier accepted its Stripe-Signature and the body is an event
        (an object with a string ``id`` and ``type``); else ``InvalidWebhook``."""
        if not signature_header or not self._webhook_secret:
            raise InvalidWebhook(
                "no Stripe-Signature header" if not signature_header else "no webhook secret"
            )
        try:
            event = self._client.construct_event(
                payload, signature_header, self._webhook_secret, tolerance=self._webhook_tolerance_s
            )
        # AttributeError: the SDK builds the event from JSON that is not an object (null, a list)
        except (stripe.SignatureVerificationError, ValueError, AttributeError) as error:
            raise InvalidWebhook(f"webhook refused: {type(error).__name__}") from error
        if not all(isinstance(getattr(event, name, None), str) for name in ("id", "type")):
            raise InvalidWebhook("webhook refused: not an event (no id or type)")
        return event

    async def _retrieve_intent(self, payment_intent_id: str) -> stripe.PaymentIntent:
        return await self._send(
            "retrieve_payment_intent",
            lambda: self._client.v1.payment_intents.retrieve_async(payment_intent_id),
        )

    async def _already_attached(self, payment_method: str, customer_id: str) -> stripe.PaymentMethod | None:
        """The payment method, when an attach was refused because it is this customer's already."""
        try:
            found = await self._send(
                "retrieve_payment_method",
                lambda: self._client.v1.payment_methods.retrieve_async(payment_method),
            )
        except StripeRefused:
            return None
        owner = found.customer
        return found if owner is not None and _id_of(owner) == customer_id else None


def _id_of(reference: str | stripe.Customer) -> str:
    return reference if isinstance(reference, str) else reference.id
