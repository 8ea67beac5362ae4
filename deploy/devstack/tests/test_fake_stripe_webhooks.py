"""The fake Stripe server sends its events to a webhook endpoint signed exactly as Stripe
signs them: the SDK's verifier accepts them and refuses a forged, tampered or stale one.
Failed deliveries are retried with growing pauses, a bounded number of times."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from fake_stripe_support import WebhookInbox, card_payment, start_inbox, stripe_client, wait_until

from devstack.fake_stripe.settings import FakeStripeSettings
from devstack.fake_stripe.webhooks import signature_header
from devstack.fake_stripe_fixtures import FakeStripeAccount

SECRET = "whsec_raincoat_shop_endpoint_secret"
WATCHED = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "charge.refunded",
)


@pytest.fixture
def inbox() -> Iterator[WebhookInbox]:
    started, stop = start_inbox()
    try:
        yield started
    finally:
        stop()


def _deliveries(fake_stripe: FakeStripeAccount) -> list[dict[str, Any]]:
    return list(fake_stripe.admin.webhook()["deliveries"])


def test_every_event_arrives_signed_and_the_sdk_verifier_accepts_it(
    fake_stripe: FakeStripeAccount, inbox: WebhookInbox
) -> None:
    fake_stripe.admin.set_webhook(inbox.url, SECRET, enabled_events=WATCHED)
    client = stripe_client(fake_stripe)
    paid = client.v1.payment_intents.create(
        card_payment(), {"idempotency_key": "order-raincoat-0001:payment"}
    )
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.create(card_payment("pm_card_chargeDeclined"))
    challenged = client.v1.payment_intents.create(card_payment("pm_card_threeDSecure2Required"))
    client.v1.refunds.create({"payment_intent": paid.id, "amount": 1000})
    wait_until(lambda: len(inbox.deliveries) == 4, what="four events delivered")

    events = [stripe.Webhook.construct_event(d.body, d.signature, SECRET) for d in inbox.deliveries]
    print(f"verified {len(events)} events: {sorted(e.type for e in events)}")
    assert sorted(e.type for e in events) == sorted(WATCHED)
    by_type = {e.type: e for e in events}
    assert by_type["payment_intent.succeeded"].data.object["id"] == paid.id
    assert by_type["payment_intent.succeeded"].request["idempotency_key"] == "order-raincoat-0001:payment"
    assert by_type["payment_intent.requires_action"].data.object["id"] == challenged.id
    assert (
        by_type["payment_intent.payment_failed"].data.object["last_payment_error"]["decline_code"]
        == "generic_decline"
    )
    assert by_type["charge.refunded"].data.object["amount_refunded"] == 1000
    assert all(e.object == "event" and e.id.startswith("evt_") for e in events)
    assert client.v1.events.retrieve(events[0].id).type == events[0].type


def test_a_forged_tampered_or_stale_event_is_refused_by_the_verifier(
    fake_stripe: FakeStripeAccount, inbox: WebhookInbox
) -> None:
    fake_stripe.admin.set_webhook(inbox.url, SECRET, enabled_events=["payment_intent.succeeded"])
    stripe_client(fake_stripe).v1.payment_intents.create(card_payment())
    wait_until(lambda: len(inbox.deliveries) == 1, what="the event delivered")
    genuine = inbox.deliveries[0]
    assert stripe.WebhookSignature.verify_header(genuine.body, genuine.signature, SECRET)

    now = int(time.time())
    tampered = genuine.body.replace('"amount": 4999', '"amount": 1')
    attempts = {
        "signed with another secret": (genuine.body, signature_header(genuine.body, "whsec_forger", now)),
        "body changed after signing": (tampered, genuine.signature),
        "signed ten minutes ago": (genuine.body, signature_header(genuine.body, SECRET, now - 600)),
        "no v1 signature": (genuine.body, f"t={now}"),
    }
    refused = []
    for what, (body, header) in attempts.items():
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body, header, SECRET)
        refused.append(what)
    print(f"refused {len(refused)} of {len(attempts)} forgeries: {refused}")
    assert tampered != genuine.body


def test_a_failed_delivery_is_retried_with_growing_pauses_until_accepted(
    fake_stripe: FakeStripeAccount, inbox: WebhookInbox
) -> None:
    inbox.failures_left = 2
    fake_stripe.admin.set_webhook(
        inbox.url, SECRET, enabled_events=["payment_intent.succeeded"], max_attempts=5, backoff_s=0.2
    )
    stripe_client(fake_stripe).v1.payment_intents.create(card_payment())
    wait_until(lambda: len(inbox.deliveries) == 1, what="the event delivered on its third attempt")
    pauses = [
        later - earlier for earlier, later in zip(inbox.attempt_times, inbox.attempt_times[1:], strict=False)
    ]
    delivery = _deliveries(fake_stripe)[0]
    print(f"refused {inbox.refused}, then delivered; pauses {[round(p, 2) for p in pauses]} s")
    assert [a["status"] for a in delivery["attempts"]] == [500, 500, 200]
    assert delivery["delivered"] is True
    assert pauses[0] >= 0.2 and pauses[1] >= 0.4
    stripe.Webhook.construct_event(inbox.deliveries[0].body, inbox.deliveries[0].signature, SECRET)


def test_a_delivery_that_keeps_failing_is_given_up_after_the_last_attempt(
    fake_stripe: FakeStripeAccount, inbox: WebhookInbox
) -> None:
    inbox.failures_left = 1000
    fake_stripe.admin.set_webhook(
        inbox.url, SECRET, enabled_events=["payment_intent.succeeded"], max_attempts=3, backoff_s=0.05
    )
    stripe_client(fake_stripe).v1.payment_intents.create(card_payment())
    wait_until(
        lambda: bool(_deliveries(fake_stripe)) and bool(_deliveries(fake_stripe)[0]["given_up"]),
        what="given up",
    )
    print(f"attempts received by the failing endpoint: {inbox.refused}")
    assert inbox.refused == 3 and inbox.deliveries == []


def test_the_endpoint_can_be_moved_at_runtime(fake_stripe: FakeStripeAccount, inbox: WebhookInbox) -> None:
    second, stop_second = start_inbox()
    try:
        client = stripe_client(fake_stripe)
        fake_stripe.admin.set_webhook(inbox.url, SECRET, enabled_events=["payment_intent.succeeded"])
        first_intent = client.v1.payment_intents.create(card_payment())
        wait_until(lambda: len(inbox.deliveries) == 1, what="the first event at the first endpoint")
        fake_stripe.admin.set_webhook(second.url, "whsec_second", enabled_events=["payment_intent.succeeded"])
        second_intent = client.v1.payment_intents.create(card_payment())
        wait_until(lambda: len(second.deliveries) == 1, what="the second event at the second endpoint")
        assert json.loads(inbox.deliveries[0].body)["data"]["object"]["id"] == first_intent.id
        moved = stripe.Webhook.construct_event(
            second.deliveries[0].body, second.deliveries[0].signature, "whsec_second"
        )
        assert moved.data.object["id"] == second_intent.id and len(inbox.deliveries) == 1
    finally:
        stop_second()


def test_a_webhook_url_without_a_secret_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="needs a webhook secret"):
        FakeStripeSettings(webhook_url="http://127.0.0.1:8002/stripe/webhook", webhook_secret="")
