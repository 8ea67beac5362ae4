"""Events written by tweet-service to the tweets topic, keyed by tweet_id, so that a tweet's
posting, restocks and price changes keep their order for every reader (checkout keeps its own
view of price and stock from them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from buybutton.events.envelope import Event, Identifier
from buybutton.money import Money

ProductKind = Literal["physical", "digital"]


class Variant(BaseModel):
    """One buyable variant of a product (for example size M, colour blue) and its stock."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    variant_id: Identifier
    attributes: dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=80)]]
    stock: int = Field(ge=0, le=1_000_000)


class Product(BaseModel):
    """The product card a tweet carries."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    product_id: Identifier
    title: str = Field(min_length=1, max_length=140)
    description: str = Field(max_length=5_000)
    price: Money
    image_urls: list[AnyHttpUrl] = Field(min_length=1, max_length=10)
    kind: ProductKind
    variants: list[Variant] = Field(min_length=1, max_length=100)
    related_product_ids: list[Identifier] = Field(default_factory=list, max_length=20)


class TweetWithProductPosted(Event):
    """A merchant posted a tweet that sells a product."""

    key_field = "tweet_id"
    event_type: Literal["TweetWithProductPosted"] = "TweetWithProductPosted"
    schema_version: Literal[1] = 1

    tweet_id: Identifier
    merchant_id: Identifier
    text: str = Field(min_length=1, max_length=280)
    product: Product


class ProductRestocked(Event):
    """A merchant added units of one variant of a tweet's product (checkout adds them to the
    stock it sells; the counts are deltas, so readers deduplicate by event_id)."""

    key_field = "tweet_id"
    event_type: Literal["ProductRestocked"] = "ProductRestocked"
    schema_version: Literal[1] = 1

    tweet_id: Identifier
    merchant_id: Identifier
    product_id: Identifier
    variant_id: Identifier
    units_added: int = Field(ge=1, le=1_000_000)


class ProductPriceChanged(Event):
    """A merchant changed the price of a tweet's product; buys from now on are charged ``price``."""

    key_field = "tweet_id"
    event_type: Literal["ProductPriceChanged"] = "ProductPriceChanged"
    schema_version: Literal[1] = 1

    tweet_id: Identifier
    merchant_id: Identifier
    product_id: Identifier
    price: Money
    previous_price: Money
