"""A postal address as a caller sends it: checkout-service validates a buyer's confirm body with
it, and vault-service stores it (a buyer's list of them, and one per order).

The rule it keeps: every part is bounded text (recipient, line1, city 1-200 characters; line2
up to 200, region up to 100; postal code 1-20), the country is an ISO 3166-1 alpha-2 code in
upper case, and, as any ``StrictInput``, unknown fields and card data anywhere are refused.
``is_default`` only means something in a list of addresses (the vault keeps exactly one).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from buybutton.inputs import StrictInput

AddressText = Annotated[str, Field(min_length=1, max_length=200)]


class ShippingAddress(StrictInput):
    recipient: AddressText
    line1: AddressText
    line2: Annotated[str, Field(max_length=200)] = ""
    city: AddressText
    region: Annotated[str, Field(max_length=100)] = ""
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    is_default: bool = False
