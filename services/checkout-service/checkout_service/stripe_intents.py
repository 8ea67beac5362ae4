"""PaymentIntents in and out: the parameters one order's charge is created with, and where the
PaymentIntent Stripe answers with stands, as a ``PaymentOutcome``.

Consumes a ``PaymentRequest`` and the SDK's ``PaymentIntent`` / ``CardError``; produces the
create parameters and ``Captured`` / ``ActionRequired`` / ``Declined`` / ``Processing`` /
``Canceled``. The rule kept: amounts, fee and destination of a ``Captured`` are what Stripe
says it took (``amount_received``, ``application_fee_amount``, ``transfer_data.destination``),
never what was asked for; and nothing of the card is read.
"""

from __future__ import annotations

from typing import Any, cast

import stripe
from stripe.params import PaymentIntentCreateParams

from checkout_service.payment_outcomes import (
    ActionRequired,
    Canceled,
    Captured,
    Declined,
    PaymentOutcome,
    PaymentRequest,
    Processing,
)
from checkout_service.stripe_errors import error_code

AUTHENTICATION_REQUIRED = "authentication_required"


def create_parameters(request: PaymentRequest) -> PaymentIntentCreateParams:
    """Create-and-confirm in one call, card only (so no redirect-based method needs a return
    URL), the platform's fee kept and the rest sent to the merchant's connected account."""
    params: dict[str, Any] = {
        "amount": request.amount_minor,
        "currency": request.currency.lower(),
        "customer": request.customer_id,
        "payment_method": request.payment_method_id,
        "payment_method_types": ["card"],
        "confirm": True,
        "off_session": request.off_session,
        "transfer_data": {"destination": request.destination_account},
        "metadata": {**request.metadata, "order_id": request.order_id},
    }
    if request.application_fee_minor > 0:
        params["application_fee_amount"] = request.application_fee_minor
    if request.return_url and not request.off_session:  # nobody to send back off session
        params["return_url"] = request.return_url
    if request.save_for_off_session and not request.off_session:
        params["setup_future_usage"] = "off_session"
    return cast(PaymentIntentCreateParams, params)


def outcome_of(intent: stripe.PaymentIntent) -> PaymentOutcome:
    status = intent.status
    if status == "succeeded":
        return Captured(
            payment_intent_id=intent.id,
            amount_minor=intent.amount_received,
            currency=intent.currency.upper(),
            application_fee_minor=intent.application_fee_amount or 0,
            destination_account=_destination(intent),
        )
    if status == "requires_action":
        return ActionRequired(intent.id, intent.client_secret or "", _redirect_url(intent))
    if status == "canceled":
        return Canceled(intent.id)
    if status == "requires_payment_method":
        return Declined(intent.id, _last_error_code(intent))
    # processing, requires_confirmation, requires_capture, or a status newer than this code
    return Processing(intent.id)


def declined_by(error: stripe.CardError) -> Declined:
    """A 402 on create: the decline code, and the PaymentIntent it left when Stripe names it."""
    details = error.error
    intent = details.payment_intent if details is not None else None
    code = error_code(error) or "card_declined"
    if error.code == AUTHENTICATION_REQUIRED:
        code = AUTHENTICATION_REQUIRED  # off-session 3-D Secure, whatever decline_code says
    return Declined(intent.id if intent is not None else None, code)


def _destination(intent: stripe.PaymentIntent) -> str:
    destination = _field(intent.transfer_data, "destination")
    if destination is None:
        return ""
    return destination if isinstance(destination, str) else str(destination.id)


def _redirect_url(intent: stripe.PaymentIntent) -> str | None:
    redirect = _field(intent.next_action, "redirect_to_url")
    url = _field(redirect, "url")
    return url if isinstance(url, str) else None


def _last_error_code(intent: stripe.PaymentIntent) -> str:
    error = intent.last_payment_error
    if error is None:
        return "requires_payment_method"
    code, decline_code = _field(error, "code"), _field(error, "decline_code")
    if code == AUTHENTICATION_REQUIRED:
        return AUTHENTICATION_REQUIRED
    return str(decline_code or code or "card_declined")


def _field(obj: object, name: str) -> Any:
    """A field of a Stripe object, None when absent: the SDK raises for a field an answer left out."""
    if obj is None:
        return None
    return getattr(obj, name, None)
