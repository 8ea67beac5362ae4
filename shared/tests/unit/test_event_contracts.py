"""The published contracts: every event has a model, a topic, and a frozen JSON schema."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from buybutton.events import ALL_EVENTS, BuyClicked, Event, PaymentCaptured, model_for
from buybutton.events.examples import ORDER, PRICE, sample_events
from buybutton.topics import ALL_TOPICS, topic_for

SNAPSHOTS = Path(__file__).parent.parent / "snapshots"


def snapshot_path(model: type[Event]) -> Path:
    return SNAPSHOTS / f"{model.type_name()}.v{model.version()}.json"


def only_adds_optional_fields(published: dict[str, Any], current: dict[str, Any]) -> bool:
    """True when ``current`` reads and writes everything ``published`` did: every published
    property unchanged, nothing newly required (tolerant readers ignore what they do not know)."""
    old_properties, new_properties = published.get("properties", {}), current.get("properties", {})
    return (
        all(new_properties.get(name) == schema for name, schema in old_properties.items())
        and set(current.get("required", [])) <= set(published.get("required", []))
        and {k: v for k, v in published.items() if k != "properties"}
        == {k: v for k, v in current.items() if k != "properties"}
    )


@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda m: m.__name__)
def test_schema_matches_snapshot_of_its_version(model: type[Event]) -> None:
    schema = json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
    path = snapshot_path(model)
    # UPDATE_SNAPSHOTS=1 records a new version, or a compatible change of a published one
    compatible = not path.exists() or only_adds_optional_fields(
        json.loads(path.read_text()), json.loads(schema)
    )
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" and compatible:
        path.write_text(schema)
    assert path.exists(), f"no snapshot for {path.name}: run UPDATE_SNAPSHOTS=1 make test-unit"
    assert path.read_text() == schema, (
        f"{model.__name__} v{model.version()} changed shape. A published version never changes: "
        f"add a new model with schema_version={model.version() + 1} instead"
    )


def test_every_event_named_by_the_design_has_a_model() -> None:
    named = {
        "TweetWithProductPosted",
        "ProductRestocked",
        "ProductPriceChanged",
        "MerchantProfileChanged",
        "BuyClicked",
        "PaymentCaptured",
        "OrderForwarded",
        "PaymentFailed",
        "OrderCancelled",
        "PaymentRefunded",
        "OrderShipped",
        "OrderFulfilled",
        "RolloutChanged",
        "BuyerProfileSaved",
        "BuyerDataErased",
    }
    checkout_steps = {  # the steps of checkout's own payment flow between the design's events
        "OrderConfirmed",
        "PaymentActionRequired",
        "PaymentCheckRequested",
        "RefundRequested",
        "StockAvailabilityChanged",
    }
    relay_statistics = {"MerchantDeliveryChanged"}  # the input of the relay's per-merchant statistics
    assert {m.type_name() for m in ALL_EVENTS} == named | checkout_steps | relay_statistics


def test_every_event_lives_on_exactly_one_topic_keyed_by_its_aggregate() -> None:
    for model in ALL_EVENTS:
        homes = [t for t in ALL_TOPICS if model in t.events]
        assert len(homes) == 1, model.__name__
        assert homes[0].key == model.key_field
    assert sum(len(t.events) for t in ALL_TOPICS) == len(ALL_EVENTS)


def test_samples_cover_every_event_and_key_by_aggregate() -> None:
    samples = sample_events()
    assert {type(e) for e in samples} == set(ALL_EVENTS)
    for event in samples:
        assert event.key == getattr(event, topic_for(event).key)
        assert model_for(event.event_type, event.schema_version) is type(event)


def test_readers_ignore_unknown_fields() -> None:
    event = next(e for e in sample_events() if isinstance(e, BuyClicked))
    body = {**event.model_dump(mode="json"), "added_in_a_later_minor_release": "anything"}
    assert BuyClicked.model_validate(body) == event


def test_occurred_at_must_carry_a_time_zone() -> None:
    event = next(e for e in sample_events() if isinstance(e, BuyClicked))
    body = {**event.model_dump(mode="json"), "occurred_at": datetime(2014, 9, 8, 12).isoformat()}
    with pytest.raises(ValidationError, match="time zone"):
        BuyClicked.model_validate(body)


def test_caused_by_carries_correlation_and_causation() -> None:
    clicked = next(e for e in sample_events() if isinstance(e, BuyClicked))
    captured = PaymentCaptured.caused_by(
        clicked,
        order_id=ORDER,
        producer="checkout-service",
        merchant_id="m",
        buyer_id="b",
        amount=PRICE,
        platform_fee=PRICE.fee(100),
        fee_bps=100,
        payment_reference="pi_1",
    )
    assert captured.causation_id == clicked.event_id
    assert captured.correlation_id == clicked.correlation_id
    assert captured.event_id != clicked.event_id


def test_event_type_cannot_be_overridden() -> None:
    clicked = next(e for e in sample_events() if isinstance(e, BuyClicked))
    body = {**clicked.model_dump(mode="json"), "event_type": "PaymentCaptured"}
    with pytest.raises(ValidationError):
        BuyClicked.model_validate(body)


def test_a_compatible_change_adds_only_optional_fields() -> None:
    published = {"properties": {"a": {"type": "string"}}, "required": ["a"], "title": "X"}
    assert only_adds_optional_fields(
        published, {**published, "properties": {"a": {"type": "string"}, "b": {}}}
    )
    assert not only_adds_optional_fields(published, {**published, "required": ["a", "b"]})
    assert not only_adds_optional_fields(published, {**published, "properties": {"a": {"type": "integer"}}})
    assert not only_adds_optional_fields(published, {**published, "properties": {}})
