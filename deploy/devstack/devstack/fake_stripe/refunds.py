"""Refunds: full (no ``amount``) or partial, of a PaymentIntent's succeeded charge.

The rule kept: the refunds of a charge never add up to more than it captured. A refund over
what is left is refused and changes nothing; a charge refunded in full is ``refunded: true``
and refuses further refunds (``charge_already_refunded``). Each refund publishes
``charge.refunded`` with the charge's new ``amount_refunded``.
"""

from __future__ import annotations

from devstack.fake_stripe.errors import JSON, invalid_request
from devstack.fake_stripe.forms import Params
from devstack.fake_stripe.ids import new_id, now
from devstack.fake_stripe.operations import Call, Outcome

ACCEPTED = (
    "payment_intent",
    "charge",
    "amount",
    "reason",
    "metadata",
    "refund_application_fee",
    "reverse_transfer",
)
REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def _refundable_charge(call: Call, params: Params) -> JSON:
    account = call.account
    intent_id, charge_id = params.text("payment_intent"), params.text("charge")
    if intent_id is None and charge_id is None:
        raise invalid_request(
            "One of the following params should be provided for this request: payment_intent or charge."
        )
    if intent_id is not None:
        intent = account.get(account.payment_intents, "payment_intent", intent_id, param="payment_intent")
        charge_id = intent["latest_charge"] if intent["status"] == "succeeded" else None
        if charge_id is None:
            raise invalid_request(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
    charge = account.get(account.charges, "charge", charge_id or "", param="charge")
    if charge["status"] != "succeeded":
        raise invalid_request(
            f"Charge {charge['id']} has not succeeded and cannot be refunded.", param="charge"
        )
    return charge


def create(call: Call) -> Outcome:
    params = Params(call.values, ACCEPTED)
    charge = _refundable_charge(call, params)
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    if remaining == 0:
        raise invalid_request(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = params.integer("amount", minimum=1)
    if amount is None:
        amount = remaining
    if amount > remaining:
        raise invalid_request(
            f"Refund amount ({amount} {charge['currency']}) is greater than unrefunded amount on charge "
            f"({remaining} {charge['currency']})",
            param="amount",
        )
    reverse_transfer = params.boolean("reverse_transfer") or False
    params.boolean("refund_application_fee")
    refund: JSON = {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge["id"],
        "created": now(),
        "currency": charge["currency"],
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": params.metadata(),
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "reason": params.choice("reason", REASONS),
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": new_id("trr") if reverse_transfer and charge["transfer_data"] else None,
    }
    call.account.refunds[refund["id"]] = refund
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    charge["refunds"]["data"].insert(0, refund)
    outcome = Outcome(refund)
    outcome.emit("refund.created", refund)
    outcome.emit("charge.refunded", charge)
    return outcome


def retrieve(call: Call) -> Outcome:
    params = Params(call.values, ())
    refund = call.account.get(call.account.refunds, "refund", call.object_id)
    return Outcome(call.account.expanded(refund, params.expand()))
