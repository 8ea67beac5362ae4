"""Payment methods: test cards turned into ``pm_...`` objects, retrieve, attach, detach, list.

A catalogue name (``pm_card_visa``...) given anywhere a payment method is expected mints a new
``pm_...`` carrying that card's behaviour, as Stripe does; a minted one is used as it is. A
payment method attached to one customer cannot be attached to another, nor used for
another customer's PaymentIntent.
"""

from __future__ import annotations

import datetime
import hashlib

from devstack.fake_stripe.catalogue import TEST_PAYMENT_METHODS
from devstack.fake_stripe.errors import JSON, invalid_request, resource_missing
from devstack.fake_stripe.forms import Params
from devstack.fake_stripe.ids import new_id, now
from devstack.fake_stripe.operations import Call, Outcome, list_object
from devstack.fake_stripe.store import Account

CARD_EXPIRY_YEARS = 3


def _card_object(object_id: str, token: str) -> JSON:
    card = TEST_PAYMENT_METHODS[token]
    return {
        "id": object_id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "card": {
            "brand": card.brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
            "country": "US",
            "display_brand": card.brand,
            "exp_month": 12,
            "exp_year": datetime.date.today().year + CARD_EXPIRY_YEARS,
            "fingerprint": hashlib.sha256(token.encode()).hexdigest()[:16],
            "funding": card.funding,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": None},
        },
        "created": now(),
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def resolve(account: Account, reference: str, *, param: str = "payment_method") -> JSON:
    """The payment method ``reference`` names: a minted one, or a new one from a test card."""
    if reference in TEST_PAYMENT_METHODS:
        minted = _card_object(new_id("pm"), reference)
        account.payment_methods[minted["id"]] = minted
        account.card_behaviour[minted["id"]] = TEST_PAYMENT_METHODS[reference]
        return minted
    found = account.payment_methods.get(reference)
    if found is None:
        raise resource_missing("PaymentMethod", reference, param=param)
    return found


def attach_to(payment_method: JSON, customer_id: str) -> None:
    owner = payment_method["customer"]
    if owner is not None and owner != customer_id:
        raise invalid_request(
            "The payment method you provided has already been attached to a customer.", param="payment_method"
        )
    payment_method["customer"] = customer_id


def retrieve(call: Call) -> Outcome:
    Params(call.values, ())
    if call.object_id in TEST_PAYMENT_METHODS:
        return Outcome(_card_object(call.object_id, call.object_id))
    return Outcome(call.account.get(call.account.payment_methods, "PaymentMethod", call.object_id))


def attach(call: Call) -> Outcome:
    params = Params(call.values, ("customer",))
    customer = call.account.active_customer(params.text("customer", required=True) or "")
    payment_method = resolve(call.account, call.object_id, param="payment_method")
    attach_to(payment_method, customer["id"])
    outcome = Outcome(payment_method)
    outcome.emit("payment_method.attached", payment_method)
    return outcome


def detach(call: Call) -> Outcome:
    Params(call.values, ())
    payment_method = call.account.get(call.account.payment_methods, "PaymentMethod", call.object_id)
    if payment_method["customer"] is None:
        raise invalid_request(
            "The payment method you provided is not attached to a customer so detachment is impossible."
        )
    payment_method["customer"] = None
    outcome = Outcome(payment_method)
    outcome.emit("payment_method.detached", payment_method)
    return outcome


def list_for_customer(call: Call) -> Outcome:
    params = Params(call.values, ("customer", "type", "limit"))
    customer_id = call.object_id or params.text("customer", required=True) or ""
    call.account.active_customer(customer_id)
    params.choice("type", ("card",))
    attached = [pm for pm in call.account.payment_methods.values() if pm["customer"] == customer_id]
    attached.sort(key=lambda pm: pm["created"], reverse=True)
    return Outcome(list_object(attached, f"/v1/customers/{customer_id}/payment_methods"))
