"""What buyers and merchants are shown: a tweet with its product card, and for buyers whether
the Buy button is on it.

The card carries photo, description, price, variants with their sold-out state and the related
products (title, price, first photo, the tweet that sells each). A buyer sees a variant sold
out when the merchant's count is zero or checkout says it is sold out (``stock``); only the
merchant sees its stock counts, with checkout's flag beside them (``checkout_sold_out``) and
``sold_out`` its own count's verdict. ``buy_button`` is the rollout gate's decision for this
buyer, this seller, now; a tweet without a product never has one.

A buyer's timeline page is written as JSON straight from its plain fields (``buyer_tweet``,
``timeline_json``): the stored tweets were validated when they were written, and validating 20
cards again costs more than the rest of building them. Single tweets and the merchants' views
are validated by their models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pydantic_core import to_json

from buybutton.money import Money
from tweet_service.stock import sold_out_by_checkout


class VariantView(BaseModel):
    variant_id: str
    attributes: dict[str, str]
    sold_out: bool


class StockedVariant(VariantView):
    """A variant as its merchant sees it: with the units the merchant has supplied and whether
    checkout says it is sold out (``sold_out`` here: the merchant's own count is zero)."""

    stock: int
    checkout_sold_out: bool


VariantT = TypeVar("VariantT", bound=VariantView)


class RelatedProduct(BaseModel):
    product_id: str
    tweet_id: str
    title: str
    price: Money
    image_url: str


class ProductCard(BaseModel, Generic[VariantT]):
    product_id: str
    title: str
    description: str
    price: Money
    image_urls: list[str]
    kind: str
    variants: list[VariantT]
    sold_out: bool
    related_products: list[RelatedProduct]


class TweetBase(BaseModel):
    tweet_id: str
    merchant_id: str
    text: str
    posted_at: datetime


class TweetBody(TweetBase):
    """A tweet as its merchant sees it."""

    product: ProductCard[StockedVariant] | None


class TweetView(TweetBase):
    """A tweet as a buyer sees it."""

    product: ProductCard[VariantView] | None
    buy_button: bool


class TweetPage(BaseModel):
    tweets: list[TweetBody]
    next_cursor: str | None


class TimelinePage(BaseModel):
    tweets: list[TweetView]
    next_cursor: str | None


def related_of(product: dict[str, Any], sellers: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The related products that still have a tweet selling them, with RelatedProduct's fields."""
    shown = []
    for product_id in product["related_product_ids"]:
        tweet = sellers.get(product_id)
        if tweet is not None:
            related = tweet["product"]
            shown.append(
                {
                    "product_id": product_id,
                    "tweet_id": tweet["_id"],
                    "title": related["title"],
                    "price": _money(related["price"]),
                    "image_url": related["image_urls"][0],
                }
            )
    return shown


def card_of(
    product: dict[str, Any], sellers: dict[str, dict[str, Any]], checkout_sold_out: frozenset[str]
) -> dict[str, Any]:
    """The card as its merchant sees it, as its fields (TweetBody validates them)."""
    variants = [
        {**v, "sold_out": v["stock"] == 0, "checkout_sold_out": v["variant_id"] in checkout_sold_out}
        for v in product["variants"]
    ]
    return {
        **{k: product[k] for k in ("product_id", "title", "description", "price", "image_urls", "kind")},
        "variants": variants,
        "sold_out": all(v["sold_out"] for v in variants),
        "related_products": related_of(product, sellers),
    }


def buyer_card(
    product: dict[str, Any], sellers: dict[str, dict[str, Any]], checkout_sold_out: frozenset[str]
) -> dict[str, Any]:
    """The card as a buyer sees it: exactly ProductCard[VariantView]'s fields, each picked by
    name, so no stock count (nor anything else stored) can reach a buyer. Sold out: none left
    by the merchant's count, or checkout says so."""
    variants = [
        {
            "variant_id": v["variant_id"],
            "attributes": v["attributes"],
            "sold_out": v["stock"] == 0 or v["variant_id"] in checkout_sold_out,
        }
        for v in product["variants"]
    ]
    return {
        "product_id": product["product_id"],
        "title": product["title"],
        "description": product["description"],
        "price": _money(product["price"]),
        "image_urls": product["image_urls"],
        "kind": product["kind"],
        "variants": variants,
        "sold_out": all(v["sold_out"] for v in variants),
        "related_products": related_of(product, sellers),
    }


def _money(price: dict[str, Any]) -> dict[str, Any]:
    return {"amount_minor": price["amount_minor"], "currency": price["currency"]}


def _base(tweet: dict[str, Any]) -> dict[str, Any]:
    return {
        "tweet_id": tweet["_id"],
        "merchant_id": tweet["merchant_id"],
        "text": tweet["text"],
        "posted_at": tweet["posted_at"],
    }


def tweet_body(tweet: dict[str, Any], sellers: dict[str, dict[str, Any]]) -> TweetBody:
    product = tweet["product"]
    return TweetBody.model_validate(
        {
            **_base(tweet),
            "product": card_of(product, sellers, sold_out_by_checkout(tweet)) if product else None,
        }
    )


def buyer_tweet(
    tweet: dict[str, Any], sellers: dict[str, dict[str, Any]], *, buy_button: bool
) -> dict[str, Any]:
    """A stored tweet as a buyer sees it: exactly TweetView's fields."""
    product = tweet["product"]
    card = buyer_card(product, sellers, sold_out_by_checkout(tweet)) if product else None
    return {**_base(tweet), "product": card, "buy_button": buy_button and card is not None}


def tweet_view(tweet: dict[str, Any], sellers: dict[str, dict[str, Any]], *, buy_button: bool) -> TweetView:
    return TweetView.model_validate(buyer_tweet(tweet, sellers, buy_button=buy_button))


def timeline_json(tweets: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    """A TimelinePage of ``buyer_tweet``s as JSON, written once without validating again what
    was validated when it was stored: pydantic's serializer writes the same bytes as
    TimelinePage's own (tests/unit/test_buyer_views.py holds the two equal)."""
    return to_json({"tweets": tweets, "next_cursor": next_cursor})
