"""The buyer's timeline page is written as JSON without validating again (``views.timeline_json``
of ``views.buyer_tweet``s): it must be exactly what TimelinePage's validation and serialization
would answer, for any stored tweet, and never carry a stock count or any other stored field a
buyer may not see."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tweet_support import raincoat

from tweet_service.inputs import TweetIn
from tweet_service.tweets import product_of
from tweet_service.views import TimelinePage, buyer_tweet, timeline_json, tweet_view

STORED_ONLY = {"stock", "related_product_ids", "outbox", "outbox_pending", "inbox", "lease", "version"}


def stored(
    n: int, *, stocks: list[int], related: list[str], posted_at: datetime, sells: bool
) -> dict[str, Any]:
    """A tweet as tweet-service stores it (the unit of work's fields included)."""
    variants = [
        {"sku": f"raincoat-{n}-{v}", "attributes": {"size": str(v)}, "stock": stock}
        for v, stock in enumerate(stocks)
    ]
    product = product_of(TweetIn.model_validate(raincoat(variants=variants)).product, f"product-{n}")  # type: ignore[arg-type]
    product_data = {**product.model_dump(mode="json"), "related_product_ids": related}
    return {
        "_id": f"tweet-{n}",
        "merchant_id": "merchant-puddle-and-co",
        "text": f"Puddle raincoat no. {n}",
        "posted_at": posted_at,
        "product": product_data if sells else None,
        "version": 3,
        "sequence": 2,
        "outbox": [{"event_id": "e", "sequence": 2, "event": {"stock": 9}}],
        "outbox_pending": True,
        "inbox": [],
        "lease": None,
    }


tweets = st.lists(
    st.tuples(
        st.lists(st.integers(0, 3), min_size=1, max_size=4),  # stocks: 0 is sold out
        st.lists(st.sampled_from(["product-0", "product-1", "product-gone"]), max_size=3, unique=True),
        st.datetimes(min_value=datetime(2014, 9, 8), timezones=st.just(UTC)),
        st.booleans(),  # sells a product
        st.booleans(),  # the gate shows the button
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(tweets, st.one_of(st.none(), st.just("W10")))
def test_the_page_written_once_equals_the_validated_page(drawn: list[Any], cursor: str | None) -> None:
    found = [
        stored(n, stocks=stocks, related=related, posted_at=posted, sells=sells)
        for n, (stocks, related, posted, sells, _) in enumerate(drawn)
    ]
    sellers = {t["product"]["product_id"]: t for t in found if t["product"]}
    buttons = [shows for *_, shows in drawn]
    written = timeline_json(
        [buyer_tweet(t, sellers, buy_button=shows) for t, shows in zip(found, buttons, strict=True)], cursor
    )
    validated = TimelinePage(
        tweets=[tweet_view(t, sellers, buy_button=shows) for t, shows in zip(found, buttons, strict=True)],
        next_cursor=cursor,
    )
    assert written == validated.model_dump_json().encode()
    assert json.loads(written) == validated.model_dump(mode="json")
    assert not STORED_ONLY & set(keys_in(json.loads(written)))


def test_sold_out_variants_are_marked_and_stock_counts_stay_out() -> None:
    tweet = stored(1, stocks=[0, 5], related=[], posted_at=datetime(2014, 9, 8, tzinfo=UTC), sells=True)
    page = json.loads(timeline_json([buyer_tweet(tweet, {}, buy_button=True)], None))
    card = page["tweets"][0]["product"]
    assert [v["sold_out"] for v in card["variants"]] == [True, False]
    assert card["sold_out"] is False
    assert "stock" not in keys_in(page)


def keys_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for key, item in value.items() for k in (key, *keys_in(item))]
    if isinstance(value, list):
        return [k for item in value for k in keys_in(item)]
    return []
