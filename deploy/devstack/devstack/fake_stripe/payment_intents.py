"""PaymentIntents: create (optionally confirming at once), retrieve, confirm, cancel.

Consumes the parameters checkout sends (amount, currency, customer, payment_method, confirm,
off_session, application_fee_amount, transfer_data[destination], metadata, ...) and refuses,
before anything changes, what Stripe refuses: an amount under 1 or under the currency's
minimum, an unknown currency, a fee over the amount or without a destination, off_session
without confirm, another customer's payment method (intent_rules.py). Confirmation itself is
confirmation.py.
"""

from __future__ import annotations

import secrets

from devstack.fake_stripe.confirmation import attempt, require_return_url_rule
from devstack.fake_stripe.errors import JSON, invalid_request, unexpected_state
from devstack.fake_stripe.forms import Params
from devstack.fake_stripe.ids import new_id, now
from devstack.fake_stripe.intent_rules import amounts, off_session_flag, payment_method_for
from devstack.fake_stripe.operations import Call, Outcome

_TEXT_FIELDS = ("description", "receipt_email", "statement_descriptor", "statement_descriptor_suffix")
_RAW_FIELDS = ("shipping", "payment_method_options", "mandate_data", "use_stripe_sdk")
CONFIRM_ACCEPTED = (
    "payment_method", "off_session", "return_url", "setup_future_usage", "error_on_requires_action",
    "receipt_email", *_RAW_FIELDS,
)  # fmt: skip
CREATE_ACCEPTED = (
    *CONFIRM_ACCEPTED, *_TEXT_FIELDS, "amount", "currency", "customer", "confirm", "application_fee_amount",
    "transfer_data", "metadata", "capture_method", "confirmation_method", "payment_method_types",
    "automatic_payment_methods", "on_behalf_of", "transfer_group",
)  # fmt: skip
CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action", "processing")


def create(call: Call) -> Outcome:
    account, params = call.account, Params(call.values, CREATE_ACCEPTED)
    amount, currency, fee, destination = amounts(params, call)
    customer = params.text("customer")
    if customer is not None:
        account.active_customer(customer)
    confirm, off_session = params.boolean("confirm") or False, off_session_flag(params)
    if off_session and not confirm:
        raise invalid_request(
            "You may only specify `off_session` when `confirm` is true.", param="off_session"
        )
    methods_given = params.strings("payment_method_types")
    automatic = params.mapping("automatic_payment_methods", ("enabled", "allow_redirects"))
    allow_redirects = (
        automatic.choice("allow_redirects", ("always", "never")) if automatic else None
    ) or "always"
    return_url = params.text("return_url")
    fail_on_action = params.boolean("error_on_requires_action") or False
    intent_id = new_id("pi")
    intent: JSON = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": fee,
        "automatic_payment_methods": None
        if methods_given
        else {"enabled": True, "allow_redirects": allow_redirects},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": params.choice("capture_method", ("automatic", "automatic_async"))
        or "automatic_async",
        "client_secret": f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
        "confirmation_method": params.choice("confirmation_method", ("automatic", "manual")) or "automatic",
        "created": now(),
        "currency": currency,
        "customer": customer,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": params.metadata(),
        "next_action": None,
        "on_behalf_of": params.text("on_behalf_of"),
        "payment_method": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": methods_given or ["card"],
        "processing": None,
        "review": None,
        "setup_future_usage": params.choice("setup_future_usage", ("on_session", "off_session")),
        "shipping": call.values.get("shipping"),
        "status": "requires_payment_method",
        "transfer_data": {"destination": destination} if destination else None,
        "transfer_group": params.text("transfer_group"),
        **{name: params.text(name) for name in _TEXT_FIELDS},
    }
    reference = params.text("payment_method")
    if confirm:
        if reference is None:
            raise invalid_request(
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                param="payment_method",
            )
        require_return_url_rule(intent, return_url)
    intent["payment_method"] = payment_method_for(account, reference, customer)
    if intent["payment_method"] is not None:
        intent["status"] = "requires_confirmation"
    account.payment_intents[intent_id] = intent
    outcome = Outcome(intent)
    outcome.emit("payment_intent.created", intent)
    if confirm:
        attempt(
            account,
            intent,
            off_session=off_session,
            return_url=return_url,
            base_url=call.base_url,
            outcome=outcome,
            fail_on_action=fail_on_action,
        )
    return outcome


def retrieve(call: Call) -> Outcome:
    params = Params(call.values, ("client_secret",))
    intent = call.account.get(call.account.payment_intents, "payment_intent", call.object_id)
    return Outcome(call.account.expanded(intent, params.expand()))


def confirm(call: Call) -> Outcome:
    account, params = call.account, Params(call.values, CONFIRM_ACCEPTED)
    intent = account.get(account.payment_intents, "payment_intent", call.object_id)
    status = intent["status"]
    if status == "succeeded":
        raise unexpected_state(
            "You cannot confirm this PaymentIntent because it has already succeeded after being "
            "previously confirmed."
        )
    if status in ("canceled", "processing"):
        raise unexpected_state(f"You cannot confirm this PaymentIntent because it has a status of {status}.")
    off_session, return_url = off_session_flag(params), params.text("return_url")
    reference = params.text("payment_method")
    if reference is None and intent["payment_method"] is None:
        raise invalid_request(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "Pass `payment_method`.",
            param="payment_method",
        )
    require_return_url_rule(intent, return_url)
    setup_future_usage = params.choice("setup_future_usage", ("on_session", "off_session"))
    fail_on_action = params.boolean("error_on_requires_action") or False
    given = payment_method_for(account, reference, intent["customer"])
    if given is not None and given != intent["payment_method"]:
        intent["payment_method"] = given
        account.authenticated.discard(intent["id"])
    if setup_future_usage is not None:
        intent["setup_future_usage"] = setup_future_usage
    outcome = Outcome(intent)
    attempt(
        account,
        intent,
        off_session=off_session,
        return_url=return_url,
        base_url=call.base_url,
        outcome=outcome,
        fail_on_action=fail_on_action,
    )
    return outcome


def cancel(call: Call) -> Outcome:
    account = call.account
    params = Params(call.values, ("cancellation_reason",))
    intent = account.get(account.payment_intents, "payment_intent", call.object_id)
    if intent["status"] not in CANCELABLE:
        raise unexpected_state(
            f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}. Only a "
            f"PaymentIntent with one of the following statuses may be canceled: {', '.join(CANCELABLE)}."
        )
    reason = params.choice(
        "cancellation_reason", ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
    )
    intent.update(status="canceled", canceled_at=now(), cancellation_reason=reason, next_action=None)
    outcome = Outcome(intent)
    outcome.emit("payment_intent.canceled", intent)
    return outcome
