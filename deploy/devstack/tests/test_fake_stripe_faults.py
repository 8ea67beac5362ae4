"""Every fault class the fake Stripe server injects, as the official SDK sees it, and what a
client that retries with the same idempotency key ends with: one charge, never two."""

from __future__ import annotations

import time

import pytest
import stripe
from fake_stripe_support import card_payment, stripe_client

from devstack.fake_stripe.client import FakeStripeAdmin
from devstack.fake_stripe_fixtures import FakeStripeAccount

KEY = "order-raincoat-0001:payment"


def _report(admin: FakeStripeAdmin, went_wrong: int) -> None:
    faults, charges = admin.faults(), admin.charges()
    injected, charged = faults["injected_by_kind"], charges["succeeded_charges"]
    print(f"injected {injected}; charges {charged}; went wrong: {went_wrong}")


def test_a_timeout_after_the_charge_went_through_is_replayed_by_a_retry_with_the_same_key(
    fake_stripe: FakeStripeAccount,
) -> None:
    fake_stripe.admin.arm("timeout_after_success", path="/v1/payment_intents", hold_ms=5000)
    impatient = stripe_client(fake_stripe, timeout_s=1.0)
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.payment_intents.create(card_payment(), {"idempotency_key": KEY})
    assert fake_stripe.admin.charges()["succeeded_charges"] == 1, "the charge went through before the timeout"

    retried = impatient.v1.payment_intents.create(card_payment(), {"idempotency_key": KEY})
    assert retried.status == "succeeded"
    assert retried.last_response.headers.get("Idempotent-Replayed") == "true"  # type: ignore[union-attr]
    charges = fake_stripe.admin.charges()
    _report(fake_stripe.admin, went_wrong=charges["succeeded_charges"] - 1)
    assert charges["succeeded_charges"] == 1 and list(charges["payment_intents"]) == [retried.id]


def test_the_sdks_own_retry_after_a_timeout_replays_the_charge(fake_stripe: FakeStripeAccount) -> None:
    fake_stripe.admin.arm("timeout_after_success", path="/v1/payment_intents", hold_ms=5000)
    intent = stripe_client(fake_stripe, retries=2, timeout_s=1.0).v1.payment_intents.create(card_payment())
    requests = fake_stripe.admin.requests()
    _report(fake_stripe.admin, went_wrong=fake_stripe.admin.charges()["succeeded_charges"] - 1)
    assert intent.status == "succeeded" and requests["replayed"] == 1
    assert fake_stripe.admin.charges()["succeeded_charges"] == 1


def test_a_closed_connection_without_an_answer_leaves_the_charge_made(fake_stripe: FakeStripeAccount) -> None:
    fake_stripe.admin.arm("timeout_after_success", path="/v1/payment_intents", hold_ms=200)
    with pytest.raises(stripe.APIConnectionError):
        stripe_client(fake_stripe, timeout_s=10.0).v1.payment_intents.create(
            card_payment(), {"idempotency_key": KEY}
        )
    entry = fake_stripe.admin.requests()["recent"][-1]
    assert (entry["fault"], entry["status"], entry["withheld_status"]) == ("timeout_after_success", None, 200)
    assert fake_stripe.admin.charges()["succeeded_charges"] == 1


def test_a_500_changes_nothing_and_a_retry_pays_once(fake_stripe: FakeStripeAccount) -> None:
    fake_stripe.admin.arm("http_500", path="/v1/payment_intents")
    with pytest.raises(stripe.APIError) as failed:
        stripe_client(fake_stripe).v1.payment_intents.create(card_payment(), {"idempotency_key": KEY})
    assert failed.value.http_status == 500
    assert fake_stripe.admin.charges()["payment_intents"] == {}

    fake_stripe.admin.arm("http_500", path="/v1/payment_intents", count=2)
    intent = stripe_client(fake_stripe, retries=3).v1.payment_intents.create(
        card_payment(), {"idempotency_key": KEY}
    )
    _report(fake_stripe.admin, went_wrong=fake_stripe.admin.charges()["succeeded_charges"] - 1)
    assert intent.status == "succeeded"
    assert fake_stripe.admin.faults()["injected_by_kind"] == {"http_500": 3}
    assert fake_stripe.admin.charges()["succeeded_charges"] == 1


def _pay_honouring_retry_after(
    client: stripe.StripeClient, attempts: int = 5
) -> tuple[stripe.PaymentIntent, float]:
    """A client that waits what Retry-After says on a 429 before trying again (same key)."""
    waited = 0.0
    for _ in range(attempts):
        try:
            return client.v1.payment_intents.create(card_payment(), {"idempotency_key": KEY}), waited
        except stripe.RateLimitError as limited:
            pause = float((limited.headers or {})["Retry-After"])
            time.sleep(pause)
            waited += pause
    raise AssertionError(f"still rate limited after {attempts} attempts")


def test_a_429_says_when_to_retry_and_a_client_that_waits_pays_once(fake_stripe: FakeStripeAccount) -> None:
    fake_stripe.admin.arm("http_429", path="/v1/payment_intents", count=2, retry_after_s=1)
    client = stripe_client(fake_stripe)
    began = time.monotonic()
    intent, waited = _pay_honouring_retry_after(client)
    elapsed = time.monotonic() - began
    _report(fake_stripe.admin, went_wrong=fake_stripe.admin.charges()["succeeded_charges"] - 1)
    print(f"waited {waited:.1f} s as told; paid after {elapsed:.2f} s")
    assert intent.status == "succeeded" and waited == 2.0 and elapsed >= 2.0
    assert fake_stripe.admin.faults()["injected_by_kind"] == {"http_429": 2}
    assert fake_stripe.admin.charges()["succeeded_charges"] == 1


def test_a_reset_connection_changes_nothing_and_a_retry_pays_once(fake_stripe: FakeStripeAccount) -> None:
    fake_stripe.admin.arm("connection_reset", path="/v1/payment_intents")
    client = stripe_client(fake_stripe)
    with pytest.raises(stripe.APIConnectionError) as cut:
        client.v1.payment_intents.create(card_payment(), {"idempotency_key": KEY})
    assert "reset" in str(cut.value).lower()
    assert fake_stripe.admin.charges()["payment_intents"] == {}
    entry = fake_stripe.admin.requests()["recent"][-1]
    assert (entry["fault"], entry["status"]) == ("connection_reset", None)

    fake_stripe.admin.arm("connection_reset", path="/v1/payment_intents")
    intent = stripe_client(fake_stripe, retries=2).v1.payment_intents.create(
        card_payment(), {"idempotency_key": KEY}
    )
    _report(fake_stripe.admin, went_wrong=fake_stripe.admin.charges()["succeeded_charges"] - 1)
    assert intent.status == "succeeded" and fake_stripe.admin.charges()["succeeded_charges"] == 1


def test_a_fixed_delay_slows_every_matching_request_until_cleared(fake_stripe: FakeStripeAccount) -> None:
    fake_stripe.admin.arm("delay_ms", path="/v1/payment_intents", count=None, delay_ms=250)
    client = stripe_client(fake_stripe)
    durations = []
    for _ in range(3):
        began = time.monotonic()
        client.v1.payment_intents.create(card_payment())
        durations.append(time.monotonic() - began)
    client.v1.customers.create({"email": "ada@example.com"})
    fake_stripe.admin.clear_faults()
    client.v1.payment_intents.create(card_payment())
    faults = [r["fault"] for r in fake_stripe.admin.requests()["recent"]]
    print(f"delayed requests took {[round(d, 3) for d in durations]} s; faults per request {faults}")
    assert all(d >= 0.25 for d in durations)
    assert faults == ["delay_ms"] * 3 + [None, None]
    assert fake_stripe.admin.charges()["succeeded_charges"] == 4


def test_a_fault_hits_only_its_secret_key_method_and_path(fake_stripe: FakeStripeAccount) -> None:
    fake_stripe.admin.arm("http_500", path="/v1/refunds", method="POST", count=None)
    bystander_key = f"{fake_stripe.api_key}_bystander"
    with FakeStripeAdmin(fake_stripe.url, bystander_key) as bystander:
        try:
            bystander.arm("http_500", count=None)
            intent = stripe_client(fake_stripe).v1.payment_intents.create(card_payment())
            assert stripe_client(fake_stripe).v1.payment_intents.retrieve(intent.id).status == "succeeded"
            with pytest.raises(stripe.APIError):
                stripe_client(fake_stripe).v1.refunds.create({"payment_intent": intent.id})
            with pytest.raises(stripe.APIError):
                stripe_client(fake_stripe, api_key=bystander_key).v1.customers.create({})
        finally:
            bystander.reset()
    assert fake_stripe.admin.faults()["injected_by_kind"] == {"http_500": 1}
