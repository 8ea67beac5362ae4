"""Stripe's test payment methods that checkout's tests use, and what each one does.

``pm_card_visa`` and ``pm_card_mastercard`` pay; ``pm_card_chargeDeclined`` is declined
(``card_declined`` / ``generic_decline``), ``pm_card_chargeDeclinedInsufficientFunds`` too
(``insufficient_funds``); ``pm_card_threeDSecure2Required`` needs 3-D Secure: on session the
PaymentIntent goes to ``requires_action``, off session it is declined with
``authentication_required``. Using one of these names mints a new ``pm_...`` object with that
behaviour, as Stripe does; the name itself is never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Decline:
    code: str
    decline_code: str
    message: str


@dataclass(frozen=True)
class CardBehaviour:
    brand: str
    last4: str
    funding: str = "credit"
    decline: Decline | None = None
    requires_authentication: bool = False


GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.")
INSUFFICIENT_FUNDS = Decline("card_declined", "insufficient_funds", "Your card has insufficient funds.")
AUTHENTICATION_REQUIRED = Decline(
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
)
AUTHENTICATION_FAILED = Decline(
    "payment_intent_authentication_failure",
    "authentication_failure",
    "We are unable to authenticate your payment method. Please choose a different payment method "
    "and try again.",
)

TEST_PAYMENT_METHODS: Mapping[str, CardBehaviour] = {
    "pm_card_visa": CardBehaviour("visa", "4242"),
    "pm_card_visa_debit": CardBehaviour("visa", "5556", funding="debit"),
    "pm_card_mastercard": CardBehaviour("mastercard", "4444"),
    "pm_card_amex": CardBehaviour("amex", "8431"),
    "pm_card_chargeDeclined": CardBehaviour("visa", "0002", decline=GENERIC_DECLINE),
    "pm_card_chargeDeclinedInsufficientFunds": CardBehaviour("visa", "9995", decline=INSUFFICIENT_FUNDS),
    "pm_card_threeDSecure2Required": CardBehaviour("visa", "3220", requires_authentication=True),
    "pm_card_authenticationRequired": CardBehaviour("visa", "3184", requires_authentication=True),
}
