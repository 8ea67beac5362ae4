"""Webhook verification with the SDK's own verifier: a payload signed the way the fake Stripe
(and Stripe) signs it passes; a missing, forged, stale or other-body signature is InvalidWebhook,
and so is a signed body that is not an event (JSON but not an object, or without id or type)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
from checkout_stripe_support import WEBHOOK_SECRET, RecordedSleeps, gateway_for

from checkout_service.stripe_gateway import InvalidWebhook, StripeGateway
from devstack.fake_stripe.webhooks import signature_header

EVENT = json.dumps(
    {
        "id": "evt_raincoat_paid",
        "object": "event",
        "type": "payment_intent.succeeded",
        "api_version": "2025-01-27.acacia",
        "created": 1_790_000_000,
        "data": {"object": {"id": "pi_raincoat", "object": "payment_intent", "status": "succeeded"}},
    },
    indent=2,
)

NOT_STRINGS = '{"id": 7, "type": ["payment_intent.succeeded"]}'


@pytest.fixture
async def gateway() -> AsyncIterator[StripeGateway]:
    gateway = gateway_for("http://127.0.0.1:9", "sk_test_webhooks", RecordedSleeps())  # never called
    yield gateway
    await gateway.aclose()


def test_a_signed_event_is_accepted(gateway: StripeGateway) -> None:
    event = gateway.verify_webhook(EVENT.encode(), signature_header(EVENT, WEBHOOK_SECRET, int(time.time())))
    assert (event.id, event.type) == ("evt_raincoat_paid", "payment_intent.succeeded")
    assert event.data.object["id"] == "pi_raincoat"


@pytest.mark.parametrize(
    ("payload", "header"),
    [
        (EVENT, None),
        (EVENT, ""),
        (EVENT, signature_header(EVENT, "whsec_someone_else", int(time.time()))),
        (EVENT.replace("succeeded", "failed"), signature_header(EVENT, WEBHOOK_SECRET, int(time.time()))),
        (EVENT, signature_header(EVENT, WEBHOOK_SECRET, int(time.time()) - 301)),
        (EVENT, "t=not-a-time,v1=00"),
        ("not json", signature_header("not json", WEBHOOK_SECRET, int(time.time()))),
        ("null", signature_header("null", WEBHOOK_SECRET, int(time.time()))),
        ("[1]", signature_header("[1]", WEBHOOK_SECRET, int(time.time()))),
        ("{}", signature_header("{}", WEBHOOK_SECRET, int(time.time()))),
        (NOT_STRINGS, signature_header(NOT_STRINGS, WEBHOOK_SECRET, int(time.time()))),
    ],
    ids=[
        "missing",
        "empty",
        "forged",
        "altered_body",
        "stale",
        "garbled",
        "not_json",
        "signed_null",
        "signed_list",
        "signed_without_id_or_type",
        "signed_id_and_type_not_strings",
    ],
)
def test_anything_else_is_an_invalid_webhook(
    gateway: StripeGateway, payload: str, header: str | None
) -> None:
    with pytest.raises(InvalidWebhook):
        gateway.verify_webhook(payload.encode(), header)
