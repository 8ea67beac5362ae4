"""What the fake was paid, for ``GET /_fake/charges``: the figure a no-double-charge test reads.

Per PaymentIntent: succeeded and failed charges, amount captured, application fee,
destination, amount refunded and number of refunds, customer and ``metadata[order_id]``;
the same summed per order id and per destination account, and in total.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from devstack.fake_stripe.errors import JSON
from devstack.fake_stripe.store import Account


def _empty_row(charge: JSON) -> JSON:
    destination = (charge["transfer_data"] or {}).get("destination")
    return {
        "succeeded": 0,
        "failed": 0,
        "amount": 0,
        "currency": charge["currency"],
        "application_fee_amount": 0,
        "destination": destination,
        "amount_refunded": 0,
        "refunds": 0,
        "customer": charge["customer"],
        "order_id": charge["metadata"].get("order_id"),
    }


def charges_report(accounts: Iterable[Account]) -> JSON:
    per_intent: dict[str, JSON] = {}
    per_order: dict[str, Counter[str]] = {}
    per_destination: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for account in accounts:
        for charge in account.charges.values():
            row = per_intent.setdefault(charge["payment_intent"], _empty_row(charge))
            if charge["status"] != "succeeded":
                row["failed"] += 1
                totals["failed_charges"] += 1
                continue
            figures = Counter(
                charges=1,
                amount=charge["amount_captured"],
                application_fees=charge["application_fee_amount"] or 0,
                amount_refunded=charge["amount_refunded"],
                refunds=len(charge["refunds"]["data"]),
            )
            row["succeeded"] += 1
            row["amount"] += figures["amount"]
            row["application_fee_amount"] += figures["application_fees"]
            row["amount_refunded"] += figures["amount_refunded"]
            row["refunds"] += figures["refunds"]
            totals.update(figures)
            if row["order_id"] is not None:
                per_order.setdefault(row["order_id"], Counter()).update(figures)
            if row["destination"] is not None:
                per_destination.setdefault(row["destination"], Counter()).update(figures)
    return {
        "succeeded_charges": totals["charges"],
        "failed_charges": totals["failed_charges"],
        "amount_captured": totals["amount"],
        "application_fees": totals["application_fees"],
        "amount_refunded": totals["amount_refunded"],
        "refunds": totals["refunds"],
        "payment_intents": per_intent,
        "orders": {order: dict(figures) for order, figures in per_order.items()},
        "destinations": {account: dict(figures) for account, figures in per_destination.items()},
    }
