"""Confirming a PaymentIntent: what the test card does, 3-D Secure, and its completion.

The rules kept, as Stripe documents them: a card that needs 3-D Secure leaves the
PaymentIntent in ``requires_action`` (``next_action`` of type ``use_stripe_sdk``, or
``redirect_to_url`` when a ``return_url`` was given) on session, and is declined with
``authentication_required`` off session; a decline answers 402 ``card_error`` and leaves the
PaymentIntent in ``requires_payment_method`` with ``last_payment_error``; a success leaves
exactly one succeeded charge. Completing 3-D Secure (``/_fake/payment_intents/{id}/authenticate``)
finishes the payment at once for ``confirmation_method=automatic`` and leaves it
``requires_confirmation`` (the server confirms again) for ``manual``.
"""

from __future__ import annotations

import copy

from devstack.fake_stripe.catalogue import AUTHENTICATION_FAILED, AUTHENTICATION_REQUIRED, Decline
from devstack.fake_stripe.charges import record_charge
from devstack.fake_stripe.errors import JSON, card_error_body, invalid_request, unexpected_state
from devstack.fake_stripe.ids import new_id
from devstack.fake_stripe.operations import Outcome
from devstack.fake_stripe.payment_methods import attach_to
from devstack.fake_stripe.store import Account


def require_return_url_rule(intent: JSON, return_url: str | None) -> None:
    """Stripe's rule for automatic payment methods: redirects allowed means a return_url."""
    methods = intent["automatic_payment_methods"]
    if return_url or not methods or not methods.get("enabled") or methods.get("allow_redirects") == "never":
        return
    raise invalid_request(
        "A `return_url` must be specified because this Payment Intent is configured to automatically "
        "accept the payment methods enabled in the Dashboard, some of which may require a full page "
        "redirect to succeed. If you do not want to accept redirect-based payment methods, set "
        "`automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` "
        "to `never` when creating Setup Intents and Payment Intents.",
        param="return_url",
    )


def attempt(
    account: Account,
    intent: JSON,
    *,
    off_session: bool,
    return_url: str | None,
    base_url: str,
    outcome: Outcome,
    fail_on_action: bool = False,
) -> None:
    """Run the payment with the intent's payment method; the answer and events go in ``outcome``."""
    payment_method = account.payment_methods[intent["payment_method"]]
    card = account.card_behaviour[payment_method["id"]]
    if card.requires_authentication and intent["id"] not in account.authenticated:
        if off_session or fail_on_action:
            _decline(account, intent, payment_method, AUTHENTICATION_REQUIRED, outcome, with_charge=False)
            return
        intent["status"] = "requires_action"
        intent["next_action"] = _next_action(intent["id"], return_url, base_url)
        outcome.body = intent
        outcome.emit("payment_intent.requires_action", intent)
        return
    if card.decline is not None:
        _decline(account, intent, payment_method, card.decline, outcome, with_charge=True)
        return
    charge = record_charge(account, intent, payment_method, None)
    intent.update(
        status="succeeded",
        amount_received=intent["amount"],
        latest_charge=charge["id"],
        next_action=None,
        last_payment_error=None,
    )
    if intent["setup_future_usage"] and intent["customer"]:
        attach_to(payment_method, intent["customer"])
    outcome.body = intent
    outcome.emit("charge.succeeded", charge)
    outcome.emit("payment_intent.succeeded", intent)


def _next_action(intent_id: str, return_url: str | None, base_url: str) -> JSON:
    page = f"{base_url.rstrip('/')}/_fake/3ds/{intent_id}"
    if return_url:
        return {"type": "redirect_to_url", "redirect_to_url": {"url": page, "return_url": return_url}}
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": page, "source": new_id("src")},
    }


def _decline(
    account: Account,
    intent: JSON,
    payment_method: JSON,
    decline: Decline,
    outcome: Outcome,
    *,
    with_charge: bool,
    error_type: str = "card_error",
) -> None:
    error: JSON = {
        "type": error_type,
        "code": decline.code,
        "decline_code": decline.decline_code,
        "message": decline.message,
        "payment_method": copy.deepcopy(payment_method),
    }
    if with_charge:
        charge = record_charge(account, intent, payment_method, decline)
        error["charge"] = charge["id"]
        intent["latest_charge"] = charge["id"]
        outcome.emit("charge.failed", charge)
    intent.update(
        status="requires_payment_method", payment_method=None, next_action=None, last_payment_error=error
    )
    outcome.status = 402
    outcome.body = card_error_body(error, copy.deepcopy(intent))
    outcome.emit("payment_intent.payment_failed", intent)


def complete_authentication(account: Account, intent: JSON, *, succeeded: bool, base_url: str) -> Outcome:
    """The buyer finished (or failed) the 3-D Secure challenge of a ``requires_action`` intent."""
    if intent["status"] != "requires_action":
        raise unexpected_state(
            f"This PaymentIntent's status is {intent['status']}; only one in requires_action can be "
            "authenticated."
        )
    outcome = Outcome(intent)
    if not succeeded:
        payment_method = account.payment_methods[intent["payment_method"]]
        _decline(
            account,
            intent,
            payment_method,
            AUTHENTICATION_FAILED,
            outcome,
            with_charge=False,
            error_type="invalid_request_error",
        )
        outcome.status, outcome.body = 200, intent
        return outcome
    account.authenticated.add(intent["id"])
    intent["next_action"] = None
    if intent["confirmation_method"] == "manual":
        intent["status"] = "requires_confirmation"
        return outcome
    attempt(account, intent, off_session=False, return_url=None, base_url=base_url, outcome=outcome)
    outcome.status, outcome.body = 200, intent
    return outcome
