"""Customers: create, retrieve, update, delete.

A deleted customer answers retrieve with Stripe's stub ``{"id", "object": "customer",
"deleted": true}``, its payment methods are detached, and any new use of it is
``resource_missing``. Created with ``payment_method``, the card is attached at once.
"""

from __future__ import annotations

import secrets

from devstack.fake_stripe.errors import JSON
from devstack.fake_stripe.forms import Params
from devstack.fake_stripe.ids import new_id, now
from devstack.fake_stripe.operations import Call, Outcome
from devstack.fake_stripe.payment_methods import attach_to, resolve
from devstack.fake_stripe.store import Account

_FIELDS = ("email", "name", "description", "phone")
ACCEPTED = (
    *_FIELDS,
    "metadata",
    "payment_method",
    "invoice_settings",
    "address",
    "shipping",
    "preferred_locales",
)


def _apply(customer: JSON, params: Params, account: Account) -> None:
    for name in _FIELDS:
        if name in params:
            customer[name] = params.text(name) or None
    customer["metadata"] = params.metadata(customer["metadata"])
    settings = params.mapping("invoice_settings", ("default_payment_method",))
    if settings is not None:
        default = settings.text("default_payment_method")
        if default:
            account.get(account.payment_methods, "PaymentMethod", default, param="invoice_settings")
        customer["invoice_settings"]["default_payment_method"] = default or None


def create(call: Call) -> Outcome:
    params = Params(call.values, ACCEPTED)
    customer: JSON = {
        "id": new_id("cus"),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": now(),
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": secrets.token_hex(4).upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": params.strings("preferred_locales") or [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
    payment_method = params.text("payment_method")
    attached = resolve(call.account, payment_method) if payment_method else None
    _apply(customer, params, call.account)
    if attached is not None:
        attach_to(attached, customer["id"])
    call.account.customers[customer["id"]] = customer
    outcome = Outcome(customer)
    outcome.emit("customer.created", customer)
    return outcome


def retrieve(call: Call) -> Outcome:
    Params(call.values, ())
    return Outcome(call.account.get(call.account.customers, "customer", call.object_id))


def update(call: Call) -> Outcome:
    params = Params(call.values, tuple(name for name in ACCEPTED if name != "payment_method"))
    customer = call.account.active_customer(call.object_id, param="id")
    _apply(customer, params, call.account)
    outcome = Outcome(customer)
    outcome.emit("customer.updated", customer)
    return outcome


def delete(call: Call) -> Outcome:
    Params(call.values, ())
    customer = call.account.active_customer(call.object_id, param="id")
    for payment_method in call.account.payment_methods.values():
        if payment_method["customer"] == customer["id"]:
            payment_method["customer"] = None
    stub = {"id": customer["id"], "object": "customer", "deleted": True}
    call.account.customers[customer["id"]] = stub
    outcome = Outcome(stub)
    outcome.emit("customer.deleted", customer)
    return outcome
