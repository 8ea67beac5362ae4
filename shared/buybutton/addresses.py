"""A shipping address as buyers give it (checkout's confirmation) and the vault keeps it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from buybutton.inputs import StrictInput

Text = Annotated[str, Field(min_length=1, max_length=200)]


class ShippingAddress(StrictInput):
    recipient: Text
    line1: Text
    line2: Annotated[str, Field(max_length=200)] = ""
    city: Text
    region: Annotated[str, Field(max_length=100)] = ""
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    is_default: bool = False
