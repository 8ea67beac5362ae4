"""What a buyer profile holds, as checkout-service writes it and the buyer sees it, and the
edit any write turns into (buyer_profile.py has what the buyer may send).

Kept (encrypted, one ciphertext per field): shipping addresses (one default), contact email,
Stripe customer id and default payment-method id, card brand / last4 / expiry for display.
Kept in the clear: the consent flags (no personal data). Never: a card number or security code.

A write is a ``ProfileEdit``: the fields it seals anew, the fields it removes, the consent flags
it sets. Every field it does not name keeps its ciphertext as stored (see vault.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, EmailStr, Field

from buybutton.inputs import StrictInput

ENCRYPTED_FIELDS = (
    "shipping_addresses",
    "contact_email",
    "stripe_customer_id",
    "default_payment_method_id",
    "card",
)
PAYMENT_FIELDS = ("stripe_customer_id", "default_payment_method_id", "card")
BUYER_FIELDS = ("shipping_addresses", "contact_email")
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


class CardDisplay(StrictInput):
    """What a receipt shows; a payment method's display data, not the card."""

    brand: Annotated[str, Field(pattern=r"^[a-z_]{2,20}$")]
    last4: Annotated[str, Field(pattern=r"^\d{4}$")]
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2100)


class Consents(StrictInput):
    remember_me: bool = True
    share_email_with_merchant: bool = False


def _one_default(addresses: list[ShippingAddress]) -> list[ShippingAddress]:
    if addresses and sum(a.is_default for a in addresses) != 1:
        raise ValueError("exactly one shipping address must be the default")
    return addresses


Addresses = Annotated[list[ShippingAddress], Field(max_length=10), AfterValidator(_one_default)]


@dataclass(frozen=True)
class ProfileEdit:
    """One write: ``values`` (JSON-ready) are sealed anew, ``cleared`` fields are removed,
    ``consents`` flags are set; every other field and flag stays as stored."""

    values: dict[str, Any]
    cleared: frozenset[str]
    consents: dict[str, bool]

    @classmethod
    def replacing(
        cls, fields: tuple[str, ...], dumped: dict[str, Any], consents: dict[str, bool]
    ) -> ProfileEdit:
        """The edit that makes ``fields`` exactly ``dumped`` (an empty value removes its field)."""
        values = {name: dumped[name] for name in fields if dumped.get(name) not in (None, [])}
        return cls(values, frozenset(fields) - set(values), consents)


class EditsProfile(Protocol):
    def as_edit(self) -> ProfileEdit: ...


class ProfileIn(StrictInput):
    """A whole profile as checkout-service writes it (scope profiles:write): it replaces every
    field, payment references included."""

    shipping_addresses: Addresses = Field(default_factory=list)
    contact_email: EmailStr | None = None
    stripe_customer_id: Annotated[str, Field(pattern=r"^cus_[A-Za-z0-9]{1,64}$")] | None = None
    default_payment_method_id: Annotated[str, Field(pattern=r"^pm_[A-Za-z0-9_]{1,64}$")] | None = None
    card: CardDisplay | None = None
    consents: Consents = Field(default_factory=Consents)

    def encrypted_values(self) -> dict[str, Any]:
        """The fields that are stored as ciphertext, JSON-ready, leaving out the empty ones."""
        return self.as_edit().values

    def as_edit(self) -> ProfileEdit:
        dumped = self.model_dump(mode="json", include=set(ENCRYPTED_FIELDS))
        return ProfileEdit.replacing(ENCRYPTED_FIELDS, dumped, self.consents.model_dump())


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


class MaskedProfile(BaseModel):
    """What the buyer sees in "Payments and Shipping": enough to recognise, not to reuse."""

    shipping_addresses: list[dict[str, Any]]
    contact_email: str | None
    card: dict[str, Any] | None
    has_payment_method: bool
    consents: Consents

    @classmethod
    def of(cls, values: dict[str, Any], consents: Consents) -> MaskedProfile:
        addresses = [
            {
                "recipient": a["recipient"],
                "city": a["city"],
                "country": a["country"],
                "line1": a["line1"][:3] + "***",
                "is_default": a["is_default"],
            }
            for a in values.get("shipping_addresses", [])
        ]
        email = values.get("contact_email")
        return cls(
            shipping_addresses=addresses,
            contact_email=mask_email(email) if email else None,
            card=values.get("card"),
            has_payment_method="default_payment_method_id" in values,
            consents=consents,
        )
