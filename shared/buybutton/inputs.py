"""Base model for anything a caller sends: unknown fields are refused, and card data is refused
wherever it hides (any string or mapping key holding a Luhn-valid 13-19 digit number, or any
field named like a card number or security code), with a message that never repeats the value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from buybutton.sensitive import looks_like_card_number

CARD_FIELD_NAME = re.compile(r"(?i)^(cvc|cvv|cvc2|cvv2|csc|security_?code|card_?number|pan|number)$")
CARD_DATA_REFUSED = "card data is never accepted: send a Stripe payment method id (pm_...) instead"


def find_card_data(value: Any, path: str = "") -> str | None:
    """The location of the first card-like value or field name, or None."""
    if isinstance(value, str):
        return path or "<root>" if looks_like_card_number(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return find_card_data(str(value), path)
    if isinstance(value, Mapping):
        for key, item in value.items():
            # a key that holds card data is itself refused, and never repeated in the location
            if looks_like_card_number(str(key)):
                return f"{path}.<a key>" if path else "<a key>"
            where = f"{path}.{key}" if path else str(key)
            if CARD_FIELD_NAME.match(str(key)):
                return where
            found = find_card_data(item, where)
            if found:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = find_card_data(item, f"{path}[{index}]")
            if found:
                return found
    return None


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_card_data(cls, data: Any) -> Any:
        where = find_card_data(data)
        if where is not None:
            raise ValueError(f"{CARD_DATA_REFUSED} (at {where})")
        return data
