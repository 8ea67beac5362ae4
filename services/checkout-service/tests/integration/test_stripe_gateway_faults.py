"""The Stripe gateway under every fault class the fake Stripe injects (a real server process,
this test's own key): Given a fault armed on PaymentIntent creation, When the gateway pays,
Then the fault is StripeUnavailable (a 429 is waited out first), and a retry with the same
idempotency key ends in exactly one charge. Each test prints what it injected and what went
wrong."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass

import pytest
from checkout_stripe_support import RecordedSleeps, charge_figures, gateway_for, raincoat_payment

from checkout_service.payment_outcomes import Captured, PaymentOutcome, PaymentRequest, StripeUnavailable
from checkout_service.stripe_gateway import StripeGateway
from devstack.fake_stripe_fixtures import FakeStripeAccount

PAYMENTS = "/v1/payment_intents"
GATEWAY_TIMEOUT_S = 2.0


@dataclass
class Rig:
    gateway: StripeGateway
    sleeps: RecordedSleeps
    fake: FakeStripeAccount
    request: PaymentRequest


@pytest.fixture
async def rig(fake_stripe: FakeStripeAccount) -> AsyncIterator[Rig]:
    sleeps = RecordedSleeps()
    gateway = gateway_for(
        fake_stripe.url,
        fake_stripe.api_key,
        sleeps,
        stripe_timeout_s=GATEWAY_TIMEOUT_S,
        stripe_rate_limit_waits=3,
    )
    customer = await gateway.ensure_customer(buyer_ref="buyer-ada", idempotency_key="buyer-ada:customer")
    payment_method, _ = await gateway.attach_payment_method(
        "pm_card_visa", customer_id=customer, idempotency_key="buyer-ada:visa"
    )
    yield Rig(gateway, sleeps, fake_stripe, raincoat_payment(customer, payment_method))
    await gateway.aclose()


def _report(rig: Rig, *, unavailable: int) -> dict[str, int]:
    injected = rig.fake.admin.faults()["injected_by_kind"]
    figures = charge_figures(rig.fake.admin)
    print(
        f"faults injected by class: {injected}; StripeUnavailable raised: {unavailable}; "
        f"rate-limit waits: {rig.sleeps.waits}; charges: {figures['charges']}; "
        f"double charges: {figures['double_charges']}"
    )
    return {"charges": figures["charges"], "double_charges": figures["double_charges"], **injected}


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("timeout_after_success", {"hold_ms": int(GATEWAY_TIMEOUT_S * 1000 * 2)}),
        ("http_500", {}),
        ("connection_reset", {}),
    ],
)
async def test_a_fault_is_unavailable_and_the_retry_with_the_same_key_charges_once(
    rig: Rig, kind: str, options: dict[str, int]
) -> None:
    rig.fake.admin.arm(kind, path=PAYMENTS, method="POST", **options)
    unavailable = await _unavailable(rig.gateway.pay(rig.request))
    retried = await rig.gateway.pay(rig.request)

    figures = _report(rig, unavailable=unavailable)
    assert unavailable == 1
    assert figures[kind] == 1
    assert isinstance(retried, Captured) and retried.amount_minor == rig.request.amount_minor
    assert (figures["charges"], figures["double_charges"]) == (1, 0)


async def test_429s_are_waited_out_for_their_retry_after_then_the_payment_goes_through(rig: Rig) -> None:
    rig.fake.admin.arm("http_429", path=PAYMENTS, method="POST", count=2, retry_after_s=2)
    outcome = await rig.gateway.pay(rig.request)

    figures = _report(rig, unavailable=0)
    assert figures["http_429"] == 2
    assert rig.sleeps.waits == [2.0, 2.0]
    assert isinstance(outcome, Captured)
    assert (figures["charges"], figures["double_charges"]) == (1, 0)


async def test_more_429s_than_the_gateway_waits_for_are_unavailable_and_retry_after_is_capped(
    rig: Rig,
) -> None:
    rig.fake.admin.arm("http_429", path=PAYMENTS, method="POST", count=4, retry_after_s=60)
    unavailable = await _unavailable(rig.gateway.pay(rig.request))
    retried = await rig.gateway.pay(rig.request)

    figures = _report(rig, unavailable=unavailable)
    assert unavailable == 1
    assert figures["http_429"] == 4
    assert rig.sleeps.waits == [5.0, 5.0, 5.0]  # three waits allowed, each capped at 5 s
    assert isinstance(retried, Captured)
    assert (figures["charges"], figures["double_charges"]) == (1, 0)


async def test_a_duplicate_sent_while_the_first_still_runs_is_unavailable_and_one_charge_results(
    rig: Rig,
) -> None:
    rig.fake.admin.arm("delay_ms", path=PAYMENTS, method="POST", delay_ms=1_000)
    first = asyncio.create_task(rig.gateway.pay(rig.request))
    await _until_the_fake_holds_the_key(rig)
    unavailable = await _unavailable(rig.gateway.pay(rig.request))  # 409 idempotency_key_in_use
    outcome = await first
    replayed = await rig.gateway.pay(rig.request)

    figures = _report(rig, unavailable=unavailable)
    assert unavailable == 1
    assert figures["delay_ms"] == 1
    assert isinstance(outcome, Captured) and replayed == outcome
    assert (figures["charges"], figures["double_charges"]) == (1, 0)


async def _unavailable(payment: Awaitable[PaymentOutcome]) -> int:
    """1 when the payment raised StripeUnavailable, 0 when it was answered."""
    try:
        await payment
    except StripeUnavailable:
        return 1
    return 0


async def _until_the_fake_holds_the_key(rig: Rig, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not rig.fake.admin.faults()["injected"]:
        assert asyncio.get_running_loop().time() < deadline, "the delayed payment never reached the fake"
        await asyncio.sleep(0.02)
