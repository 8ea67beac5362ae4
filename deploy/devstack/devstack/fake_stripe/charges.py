"""Charges: the record of each payment attempt of a PaymentIntent, and the balance.

A confirmation that reaches the card network leaves one charge: ``succeeded`` (the money
moved, minus the application fee, to the destination) or ``failed`` (with the decline). A
PaymentIntent never has more than one succeeded charge; refunds lower the charge's
unrefunded amount and never below zero.
"""

from __future__ import annotations

from collections import defaultdict

from devstack.fake_stripe.catalogue import Decline
from devstack.fake_stripe.errors import JSON
from devstack.fake_stripe.forms import Params
from devstack.fake_stripe.ids import new_id, now
from devstack.fake_stripe.operations import Call, Outcome
from devstack.fake_stripe.store import Account


def record_charge(account: Account, intent: JSON, payment_method: JSON, decline: Decline | None) -> JSON:
    paid = decline is None
    charge_id = new_id("ch")
    destination = (intent["transfer_data"] or {}).get("destination")
    fee = intent["application_fee_amount"]
    charge: JSON = {
        "id": charge_id,
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if paid else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": new_id("fee") if paid and fee else None,
        "application_fee_amount": fee,
        "balance_transaction": new_id("txn") if paid else None,
        "billing_details": payment_method["billing_details"],
        "calculated_statement_descriptor": "FAKE STRIPE",
        "captured": paid,
        "created": now(),
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": decline.code if decline else None,
        "failure_message": decline.message if decline else None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": intent["on_behalf_of"],
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network" if paid else "declined_by_network",
            "reason": decline.decline_code if decline else None,
            "seller_message": "Payment complete." if paid else "The bank did not return any further details.",
            "type": "authorized" if paid else "issuer_declined",
        },
        "paid": paid,
        "payment_intent": intent["id"],
        "payment_method": payment_method["id"],
        "payment_method_details": {"card": _card_details(payment_method["card"]), "type": "card"},
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": intent["shipping"],
        "source_transfer": None,
        "statement_descriptor": intent["statement_descriptor"],
        "statement_descriptor_suffix": intent["statement_descriptor_suffix"],
        "status": "succeeded" if paid else "failed",
        "transfer_data": {"amount": None, "destination": destination} if destination else None,
        "transfer_group": intent["transfer_group"],
    }
    account.charges[charge_id] = charge
    return charge


def _card_details(card: JSON) -> JSON:
    """What a charge shows of the card it used (no wallet, no 3-D Secure details)."""
    shown = ("brand", "checks", "country", "exp_month", "exp_year", "fingerprint", "funding", "last4")
    return {
        **{name: card[name] for name in shown},
        "network": card["brand"],
        "three_d_secure": None,
        "wallet": None,
    }


def retrieve(call: Call) -> Outcome:
    params = Params(call.values, ())
    charge = call.account.get(call.account.charges, "charge", call.object_id)
    return Outcome(call.account.expanded(charge, params.expand()))


def balance(call: Call) -> Outcome:
    """What the platform holds: succeeded charges less refunds, per currency (fees aside)."""
    Params(call.values, ())
    available: defaultdict[str, int] = defaultdict(int)
    for charge in call.account.charges.values():
        if charge["status"] == "succeeded":
            available[charge["currency"]] += charge["amount"] - charge["amount_refunded"]
    amounts = [{"amount": amount, "currency": currency} for currency, amount in sorted(available.items())]
    return Outcome(
        {
            "object": "balance",
            "available": amounts or [{"amount": 0, "currency": "usd"}],
            "livemode": False,
            "pending": [],
        }
    )
