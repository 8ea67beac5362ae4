"""What a buyer may send about their own profile: addresses, contact email and consents, never a
payment reference (a buyer must not plant someone else's ``cus_...`` / ``pm_...`` for checkout to
charge; only checkout-service, with scope ``profiles:write``, sets those and the card display).

``PUT /v1/me/profile`` takes ``BuyerProfileIn``: the buyer's part, whole (addresses, email and
consents as sent; a left-out one takes its default). ``PATCH /v1/me/profile`` takes
``BuyerProfilePatch``: only what it names changes (``null`` or ``[]`` removes a field; a consent
flag left out stays). Either way the payment references and card display stay as stored, so an
address edit keeps one-tap working. A payment field in either body is refused with 422 naming
the field (even ``null``).
"""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from pydantic import AfterValidator, EmailStr, Field
from pydantic.json_schema import SkipJsonSchema

from buybutton.inputs import StrictInput
from vault_service.profile import BUYER_FIELDS, Addresses, Consents, ProfileEdit

CHECKOUT_ONLY = "set only by checkout-service (scope profiles:write), never by the buyer"


def _refuse(_: object) -> NoReturn:
    raise ValueError(CHECKOUT_ONLY)


# a field a buyer may not send: absent is fine, any value (null included) is refused by name;
# not in the API's schema, which says no other field is accepted
CheckoutOnly = Annotated[SkipJsonSchema[Any], AfterValidator(_refuse), Field(exclude=True)]


class BuyerProfileIn(StrictInput):
    shipping_addresses: Addresses = Field(default_factory=list)
    contact_email: EmailStr | None = None
    consents: Consents = Field(default_factory=Consents)
    stripe_customer_id: CheckoutOnly = None
    default_payment_method_id: CheckoutOnly = None
    card: CheckoutOnly = None

    def as_edit(self) -> ProfileEdit:
        dumped = self.model_dump(mode="json", include=set(BUYER_FIELDS))
        return ProfileEdit.replacing(BUYER_FIELDS, dumped, self.consents.model_dump())


class ConsentsPatch(StrictInput):
    remember_me: bool | None = None
    share_email_with_merchant: bool | None = None


class BuyerProfilePatch(StrictInput):
    shipping_addresses: Addresses | None = None
    contact_email: EmailStr | None = None
    consents: ConsentsPatch | None = None
    stripe_customer_id: CheckoutOnly = None
    default_payment_method_id: CheckoutOnly = None
    card: CheckoutOnly = None

    def as_edit(self) -> ProfileEdit:
        named = tuple(name for name in BUYER_FIELDS if name in self.model_fields_set)
        consents = self.consents.model_dump(exclude_none=True) if self.consents else {}
        return ProfileEdit.replacing(named, self.model_dump(mode="json", include=set(named)), consents)
