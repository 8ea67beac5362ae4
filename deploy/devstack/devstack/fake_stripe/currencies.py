"""The currencies the fake accepts and Stripe's minimum charge amount in each (minor units).

A PaymentIntent in another currency is refused as Stripe refuses it; an amount under the
minimum is ``amount_too_small``. The list is the usual card-settlement subset, not all of
Stripe's; a currency missing here is refused, which is the safe error for a fake to make.
"""

from __future__ import annotations

from collections.abc import Mapping

MINIMUM_AMOUNTS: Mapping[str, int] = {
    "usd": 50,
    "eur": 50,
    "gbp": 30,
    "cad": 50,
    "aud": 50,
    "nzd": 50,
    "chf": 50,
    "sek": 300,
    "nok": 300,
    "dkk": 250,
    "pln": 200,
    "czk": 1500,
    "jpy": 50,
    "mxn": 1000,
    "sgd": 50,
    "hkd": 400,
    "inr": 50,
    "brl": 50,
}

ZERO_DECIMAL = frozenset({"jpy"})


def format_minimum(currency: str) -> str:
    minimum = MINIMUM_AMOUNTS[currency]
    if currency in ZERO_DECIMAL:
        return f"{minimum} {currency}"
    return f"{minimum // 100}.{minimum % 100:02d} {currency}"
