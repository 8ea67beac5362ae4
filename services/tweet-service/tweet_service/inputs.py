"""What callers send to tweet-service, validated strictly (unknown fields and card data refused,
see buybutton.inputs): merchants' accounts, product tweets, restocks and price changes.

Tweet length follows the tweet rules: 1 to 280 characters, counted as Unicode code points after
trimming, no control characters but new lines. Prices are integer minor units of an ISO 4217
currency, at least one minor unit; image URLs are https.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    Field,
    JsonValue,
    UrlConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic.config import JsonDict

from buybutton.events.envelope import Identifier
from buybutton.inputs import StrictInput
from buybutton.money import BasisPoints, CurrencyCode, Money, known_currencies

TWEET_MAX_CHARS = 280
NO_CONTROL_CHARACTERS_BUT_NEW_LINES = r"^[^\x00-\x09\x0b-\x1f\x7f]*$"
HttpsUrl = Annotated[
    AnyHttpUrl,
    UrlConstraints(allowed_schemes=["https"], max_length=2_000),
    WithJsonSchema({"type": "string", "format": "uri", "pattern": "^https://[^/?#]+", "maxLength": 2_000}),
]
StripeAccountId = Annotated[str, Field(pattern=r"^acct_[A-Za-z0-9]{1,64}$")]
# stored as a document key: no control characters, no '.' and no leading '$' (MongoDB's operators)
AttributeName = Annotated[
    str, Field(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f$.][^\x00-\x1f\x7f.]*$")
]
AttributeValue = Annotated[str, Field(min_length=1, max_length=80)]


def _currency_enum(schema: JsonDict) -> None:
    """The OpenAPI document lists the accepted codes, so clients (and fuzzers) can know them."""
    codes: list[JsonValue] = [*sorted(known_currencies())]
    schema["enum"] = codes


class MerchantIn(StrictInput):
    merchant_id: Identifier
    name: str = Field(min_length=1, max_length=100)
    stripe_account_id: StripeAccountId
    fee_bps: BasisPoints | None = Field(default=None, description="default: TWEET_DEFAULT_FEE_BPS")


class MerchantChange(StrictInput):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    stripe_account_id: StripeAccountId | None = None
    fee_bps: BasisPoints | None = None


class PriceIn(StrictInput):
    amount_minor: int = Field(ge=1, le=100_000_000, description="integer minor units, e.g. cents")
    currency: CurrencyCode = Field(json_schema_extra=_currency_enum)

    def money(self) -> Money:
        return Money(amount_minor=self.amount_minor, currency=self.currency)


class VariantIn(StrictInput):
    sku: Identifier = Field(description="the merchant's id of this variant, unique within the product")
    attributes: dict[AttributeName, AttributeValue] = Field(default_factory=dict, max_length=10)
    stock: int = Field(ge=0, le=1_000_000, description="units available to sell; required")


class ProductIn(StrictInput):
    title: str = Field(min_length=1, max_length=140)
    description: str = Field(default="", max_length=5_000)
    price: PriceIn
    image_urls: list[HttpsUrl] = Field(min_length=1, max_length=10)
    kind: Literal["physical", "digital"]
    variants: list[VariantIn] = Field(min_length=1, max_length=100)
    related_product_ids: list[Identifier] = Field(default_factory=list, max_length=20)

    @field_validator("variants")
    @classmethod
    def _unique_skus(cls, variants: list[VariantIn]) -> list[VariantIn]:
        skus = [v.sku for v in variants]
        if len(set(skus)) != len(skus):
            raise ValueError("each variant needs its own sku")
        return variants


class TweetIn(StrictInput):
    text: str = Field(min_length=1, max_length=TWEET_MAX_CHARS, pattern=NO_CONTROL_CHARACTERS_BUT_NEW_LINES)
    product: ProductIn | None = Field(default=None, description="only allow-listed sellers may attach one")


class RestockIn(StrictInput):
    units: int = Field(ge=1, le=1_000_000)


class PriceChangeIn(StrictInput):
    price: PriceIn


class MerchantTokenIn(StrictInput):
    audience: Identifier = Field(
        default="checkout-service",
        description="the service the token is for (one of TWEET_MERCHANT_TOKEN_AUDIENCES); checkout-service",
    )
