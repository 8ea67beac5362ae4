"""What the Stripe gateway (stripe_gateway.py) answers, as plain values the payment worker
decides on; nothing here talks to Stripe. Never a card number: a card is only its display data.

- ``PaymentRequest``: one order's charge, everything the PaymentIntent needs.
- ``Captured`` / ``ActionRequired`` / ``Declined`` / ``Processing`` / ``Canceled``: where a
  PaymentIntent stands after a create-and-confirm, a retrieve or a cancel.
- ``RefundOutcome``: a refund Stripe accepted (pending or succeeded) or refused.
- Errors: ``StripeUnavailable`` (transient: retry with the same key), ``IdempotencyConflict``
  (the key was used with other parameters: refused by Stripe, never charged twice),
  ``StripeRefused`` (a permanent refusal of a request that is not a card decline).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from buybutton.faults import TransientFailure


@dataclass(frozen=True)
class CardDisplay:
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class PaymentRequest:
    order_id: str
    amount_minor: int
    currency: str  # ISO 4217, upper case; the gateway sends it lower case as Stripe wants
    customer_id: str
    payment_method_id: str
    application_fee_minor: int
    destination_account: str
    off_session: bool  # one tap: the buyer is not there to authenticate
    idempotency_key: str
    metadata: dict[str, str] = field(default_factory=dict)
    return_url: str | None = None  # where 3-D Secure sends the buyer back (on session only)
    # first purchase with "remember": Stripe sets the card up for later one-tap (off-session) use
    save_for_off_session: bool = False


@dataclass(frozen=True)
class Captured:
    payment_intent_id: str
    amount_minor: int  # amount_received
    currency: str  # upper case
    application_fee_minor: int
    destination_account: str


@dataclass(frozen=True)
class ActionRequired:
    """3-D Secure: the client finishes it with ``client_secret`` (Stripe.js) or ``redirect_url``."""

    payment_intent_id: str
    client_secret: str
    redirect_url: str | None


@dataclass(frozen=True)
class Declined:
    payment_intent_id: str | None
    code: str  # decline_code when Stripe gives one, else the error code (authentication_required ...)


@dataclass(frozen=True)
class Processing:
    """Stripe has not decided yet (``processing``, or still waiting for confirmation)."""

    payment_intent_id: str


@dataclass(frozen=True)
class Canceled:
    payment_intent_id: str


PaymentOutcome = Captured | ActionRequired | Declined | Processing | Canceled


@dataclass(frozen=True)
class RefundOutcome:
    refund_id: str
    status: str  # pending, succeeded, failed, canceled, requires_action
    amount_minor: int


class StripeUnavailable(TransientFailure):
    """Stripe could not be reached or answered 5xx / 429 / lock timeout: try again, same key."""


class IdempotencyConflict(Exception):
    """Stripe refused an idempotency key reused with other parameters; nothing was charged twice."""


class StripeRefused(Exception):
    """A permanent refusal that is not a card decline (invalid request, missing resource...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
