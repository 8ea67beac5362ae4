"""What a buyer profile holds, as checkout-service writes it and the buyer sees it, and the
edit any write turns into (buyer_profile.py has what the buyer may send, checkout_profile.py
what checkout-service sends after a first purchase).

Kept (encrypted, one ciphertext per field): shipping addresses (one default), contact email,
Stripe customer id and default payment-method id, card brand / last4 / expiry for display.
Kept in the clear: the consent flags (no personal data). Never: a card number or security code.

A write is a ``ProfileEdit``: the fields it seals anew, the fields it removes, the consent flags
it sets. Every field it does not name keeps its ciphertext as stored (see vault.py). An edit that
depends on what is stored (``EditsStoredProfile``: adding an address to the list) is decided
again on the stored fields whenever the write lost a race.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, EmailStr, Field

from buybutton.addresses import ShippingAddress
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


class CardDisplay(StrictInput):
    """What a receipt shows; a payment method's display data, not the card."""

    brand: Annotated[str, Field(pattern=r"^[a-z_]{2,20}$")]
    last4: Annotated[str, Field(pattern=r"^\d{4}$")]
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2100)


CustomerId = Annotated[str, Field(pattern=r"^cus_[A-Za-z0-9]{1,64}$")]
PaymentMethodId = Annotated[str, Field(pattern=r"^pm_[A-Za-z0-9_]{1,64}$")]


class Consents(StrictInput):
    remember_me: bool = True
    share_email_with_merchant: bool = False


def _one_default(addresses: list[ShippingAddress]) -> list[ShippingAddress]:
    if addresses and sum(a.is_default for a in addresses) != 1:
        raise ValueError("exactly one shipping address must be the default")
    return addresses


MAX_ADDRESSES = 10
Addresses = Annotated[list[ShippingAddress], Field(max_length=MAX_ADDRESSES), AfterValidator(_one_default)]


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


class EditsStoredProfile(Protocol):
    """An edit decided on what is stored: ``reads`` names the fields it needs, and ``edit_of``
    gets them decrypted (those present) on every attempt of the write."""

    @property
    def reads(self) -> tuple[str, ...]: ...

    def edit_of(self, stored: Mapping[str, Any]) -> ProfileEdit: ...


class ProfileIn(StrictInput):
    """A whole profile as checkout-service writes it (scope profiles:write): it replaces every
    field, payment references included."""

    shipping_addresses: Addresses = Field(default_factory=list)
    contact_email: EmailStr | None = None
    stripe_customer_id: CustomerId | None = None
    default_payment_method_id: PaymentMethodId | None = None
    card: CardDisplay | None = None
    consents: Consents = Field(default_factory=Consents)

    def encrypted_values(self) -> dict[str, Any]:
        """The fields that are stored as ciphertext, JSON-ready, leaving out the empty ones."""
        return self.as_edit().values

    def as_edit(self) -> ProfileEdit:
        dumped = self.model_dump(mode="json", include=set(ENCRYPTED_FIELDS))
        return ProfileEdit.replacing(ENCRYPTED_FIELDS, dumped, self.consents.model_dump())


def mask_address(address: Mapping[str, Any]) -> dict[str, Any]:
    """An address as the buyer's profile shows it: who, which city and country, and the first
    characters of the street line; never the rest of it or the postal code."""
    return {
        "recipient": address["recipient"],
        "city": address["city"],
        "country": address["country"],
        "line1": address["line1"][:3] + "***",
        "is_default": address["is_default"],
    }


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
        addresses = [mask_address(a) for a in values.get("shipping_addresses", [])]
        email = values.get("contact_email")
        return cls(
            shipping_addresses=addresses,
            contact_email=mask_email(email) if email else None,
            card=values.get("card"),
            has_payment_method="default_payment_method_id" in values,
            consents=consents,
        )
