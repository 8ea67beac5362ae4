"""Base model for anything a caller sends: unknown fields are refused, and card data is refused
wherever it hides (any string, number or mapping key holding a card number as
``buybutton.sensitive`` reads one, or any field named like a card number or security code), with
a message that never repeats the value. ``find_card_data`` is also what the token verifier checks
claims with; ``CardFree`` is the same check for one value, for path parameters' types."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from buybutton.sensitive import looks_like_card_number

CARD_FIELD_NAME = re.compile(r"(?i)^(cvc|cvv|cvc2|cvv2|csc|security_?code|card_?number|pan|number)$")
CARD_DATA_REFUSED = (
    "card data is never accepted: send a Stripe payment method id (pm_...) instead"
    " (13 to 19 digits joined only by spaces, dots, dashes or slashes read as a card number"
    " when they pass the Luhn check; separate numbers with a word or a comma)"
)


def refuse_card_data(value: str) -> str:
    if looks_like_card_number(value):
        raise ValueError(CARD_DATA_REFUSED)
    return value


# in a parameter's Annotated type: ``Annotated[str, Path(...), CardFree]``
CardFree = AfterValidator(refuse_card_data)
FIELD_NAME_SHAPED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def location_part(key: object) -> str:
    """How a location names a mapping key: as itself when it is shaped like a field name and
    holds no card data, else ``<a key>`` (a key may be anything a caller typed)."""
    text = str(key)
    if text == "[key]":  # pydantic's marker for "this key itself failed"
        return text
    return text if FIELD_NAME_SHAPED.match(text) and not looks_like_card_number(text) else "<a key>"


def find_card_data(value: Any, path: str = "") -> str | None:
    """The location of the first card-like value or field name, or None."""
    if isinstance(value, str):
        return path or "<root>" if looks_like_card_number(value) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return find_card_data(str(value), path)
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{location_part(key)}" if path else location_part(key)
            if looks_like_card_number(str(key)):  # a key holding card data is refused itself
                return where
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
