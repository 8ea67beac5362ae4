"""Input rules that need no running component: tweet length and characters, product fields,
and pagination cursors that round-trip and refuse anything the API did not give out."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from tweet_support import raincoat

from tweet_service.cursors import encode_cursor, parse_cursor
from tweet_service.inputs import TweetIn
from tweet_service.tweets import product_of


@pytest.mark.parametrize("text", ["r", "☔" * 280, "two\nlines"])
def test_tweets_of_one_to_280_characters_are_accepted(text: str) -> None:
    assert TweetIn.model_validate({"text": text}).text == text


@pytest.mark.parametrize("text", ["", "  ", "☔" * 281, "tab\tinside", "bell\x07"])
def test_empty_long_or_control_character_tweets_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        TweetIn.model_validate({"text": text})


def test_a_product_becomes_the_published_product_with_skus_as_variant_ids() -> None:
    tweet = TweetIn.model_validate(raincoat())
    assert tweet.product is not None
    product = product_of(tweet.product, "product-raincoat")
    assert [(v.variant_id, v.stock) for v in product.variants] == [("raincoat-m", 12), ("raincoat-l", 0)]
    assert product.price.amount_minor == 4_999


def test_cursors_round_trip_and_strangers_are_refused() -> None:
    posted_at = datetime(2014, 9, 8, 12, 0, 0, 123000, tzinfo=UTC)
    cursor = encode_cursor({"posted_at": posted_at, "_id": "tweet-raincoat"})
    assert parse_cursor(cursor) == (posted_at, "tweet-raincoat")
    assert parse_cursor(None) is None
    beyond_the_calendar = base64.urlsafe_b64encode(
        json.dumps(["9999-12-31T23:59:59-23:59", "t"]).encode()
    ).decode()
    naive = encode_cursor({"posted_at": datetime(2014, 9, 8), "_id": "t"})
    for stranger in ("not-a-cursor", "W10", naive, beyond_the_calendar):
        with pytest.raises(RequestValidationError):
            parse_cursor(stranger)
