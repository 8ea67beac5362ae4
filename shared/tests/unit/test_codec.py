"""Records that can never be read are named poison, with a reason that echoes no values."""

from __future__ import annotations

import json

import pytest

from buybutton.events import BuyClicked
from buybutton.events.examples import sample_events
from buybutton.kafka.codec import PoisonRecord, decode, encode

CARD = "4242424242424242"


def click() -> BuyClicked:
    return next(e for e in sample_events() if isinstance(e, BuyClicked))


def test_encode_then_decode_gives_the_same_event() -> None:
    sent = click()
    record = encode(sent)
    assert decode(record.value, record.headers) == sent
    assert record.key == b"order-raincoat-0001"


@pytest.mark.parametrize(
    ("value", "headers", "reason"),
    [
        (None, [], "tombstone"),
        (b"\xff\xfe not utf-8", [], "not JSON"),
        (b"{truncated", [], "not JSON"),
        (b'"a string"', [], "not an object"),
        (b'{"order_id": "x"}', [], "no event_type"),
        (b'{"event_type": "BuyClicked", "schema_version": 7}', [], "no model for BuyClicked v7"),
        (b'{"event_type": "NoSuchThing", "schema_version": 1}', [], "no model for NoSuchThing"),
    ],
)
def test_unreadable_records_are_poison(
    value: bytes | None, headers: list[tuple[str, bytes]], reason: str
) -> None:
    with pytest.raises(PoisonRecord, match=reason):
        decode(value, headers)


def test_validation_failure_names_fields_but_not_values() -> None:
    body = click().model_dump(mode="json")
    body["quantity"] = -3
    body["buyer_id"] = f"card {CARD}"
    with pytest.raises(PoisonRecord) as caught:
        decode(json.dumps(body).encode(), encode(click()).headers)
    message = str(caught.value)
    assert "quantity" in message and "buyer_id" in message
    assert CARD not in message and "-3" not in message


def test_headers_and_body_must_agree_on_the_type() -> None:
    record = encode(click())
    with pytest.raises(PoisonRecord, match="event_type"):
        decode(record.value, [("event_type", b"PaymentCaptured"), ("schema_version", b"1")])
