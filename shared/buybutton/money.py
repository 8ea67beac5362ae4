"""Money as integer minor units plus an ISO 4217 currency, and platform fees in basis points.

Amounts never travel as floats. A fee is ``amount * bps / 10_000`` rounded half-up to the
currency's minor unit (the platform's stated rounding rule), computed in integers only.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from babel.numbers import get_currency_precision, list_currencies
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

BASIS_POINTS_PER_UNIT = 10_000


@cache
def known_currencies() -> frozenset[str]:
    """Every ISO 4217 code that Babel's CLDR data knows."""
    return frozenset(list_currencies())


def check_currency(code: str) -> str:
    """Accept an upper-case ISO 4217 code that Babel's CLDR data knows; refuse anything else."""
    if code not in known_currencies():
        raise ValueError("unknown currency: expected an ISO 4217 code such as 'USD'")
    return code


CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$"), AfterValidator(check_currency)]
BasisPoints = Annotated[int, Field(ge=0, le=BASIS_POINTS_PER_UNIT)]


def minor_unit_digits(currency: str) -> int:
    """How many digits the currency's minor unit has (USD 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(check_currency(currency)))


class Money(BaseModel):
    """An amount in the currency's minor unit (cents for USD, yen for JPY)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    amount_minor: int = Field(ge=0, le=10**12, description="integer minor units")
    currency: CurrencyCode

    def fee(self, bps: int) -> Money:
        """The platform fee for ``bps`` basis points, rounded half-up to the minor unit."""
        if not 0 <= bps <= BASIS_POINTS_PER_UNIT:
            raise ValueError(f"fee must be 0..{BASIS_POINTS_PER_UNIT} basis points, got {bps}")
        numerator = self.amount_minor * bps
        fee_minor = (numerator + BASIS_POINTS_PER_UNIT // 2) // BASIS_POINTS_PER_UNIT
        return Money(amount_minor=fee_minor, currency=self.currency)

    def times(self, quantity: int) -> Money:
        """The amount for ``quantity`` units."""
        if quantity < 0:
            raise ValueError("quantity must not be negative")
        return Money(amount_minor=self.amount_minor * quantity, currency=self.currency)

    def minus(self, other: Money) -> Money:
        """This amount less ``other`` (same currency; never below zero)."""
        if other.currency != self.currency:
            raise ValueError(f"cannot subtract {other.currency} from {self.currency}")
        if other.amount_minor > self.amount_minor:
            raise ValueError("the result would be negative")
        return Money(amount_minor=self.amount_minor - other.amount_minor, currency=self.currency)
