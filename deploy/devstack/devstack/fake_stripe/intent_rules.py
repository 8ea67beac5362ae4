"""The rules a PaymentIntent's parameters must keep before anything is created or confirmed.

Amounts are positive integers in minor units and at least the currency's minimum; the
currency is one the fake knows; ``application_fee_amount`` is at most the amount and needs a
destination (``transfer_data[destination]``, an ``acct_...``), ``on_behalf_of`` or a
``Stripe-Account`` header; ``off_session`` is ``true``/``one_off``/``recurring`` or false; a
payment method attached to a customer is used with that customer only.
"""

from __future__ import annotations

from devstack.fake_stripe.currencies import MINIMUM_AMOUNTS, format_minimum
from devstack.fake_stripe.errors import invalid_request, resource_missing
from devstack.fake_stripe.forms import Params
from devstack.fake_stripe.operations import Call
from devstack.fake_stripe.payment_methods import resolve
from devstack.fake_stripe.store import Account


def amounts(params: Params, call: Call) -> tuple[int, str, int | None, str | None]:
    amount = params.integer("amount", required=True, minimum=1) or 0
    currency = (params.text("currency", required=True) or "").lower()
    if currency not in MINIMUM_AMOUNTS:
        raise invalid_request(f"Invalid currency: {currency}.", param="currency")
    if amount < MINIMUM_AMOUNTS[currency]:
        raise invalid_request(
            f"Amount must be at least {format_minimum(currency)}", param="amount", code="amount_too_small"
        )
    transfer = params.mapping("transfer_data", ("destination", "amount"))
    destination = transfer.text("destination", required=True) if transfer else None
    if destination is not None and not destination.startswith("acct_"):
        raise resource_missing("destination", destination, param="transfer_data[destination]")
    if transfer is not None and (transfer.integer("amount", minimum=1) or 0) > amount:
        raise invalid_request(
            "transfer_data[amount] must be at most the amount.", param="transfer_data[amount]"
        )
    fee = params.integer("application_fee_amount", minimum=0)
    if fee is not None:
        if destination is None and params.text("on_behalf_of") is None and call.stripe_account is None:
            raise invalid_request(
                "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct "
                "payment (using an OAuth key or Stripe-Account header) or destination payment (using "
                "`transfer_data[destination]`).",
                param="application_fee_amount",
            )
        if fee > amount:
            raise invalid_request(
                "The application fee amount must be less than or equal to the amount.",
                param="application_fee_amount",
            )
    return amount, currency, fee, destination


def payment_method_for(account: Account, reference: str | None, customer: str | None) -> str | None:
    if reference is None:
        return None
    payment_method = resolve(account, reference)
    owner = payment_method["customer"]
    if owner is not None and owner != customer:
        raise invalid_request(
            f"The provided PaymentMethod belongs to customer {owner}; pass that customer in `customer`.",
            param="payment_method",
        )
    return str(payment_method["id"])


def off_session_flag(params: Params) -> bool:
    value = params.text("off_session")
    if value is None or value in ("false", "one_off", "recurring", "true"):
        return value not in (None, "false")
    raise invalid_request(f"Invalid off_session: {value}", param="off_session")
