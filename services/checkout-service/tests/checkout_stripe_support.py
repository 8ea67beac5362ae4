"""What the Stripe gateway's tests share: the gateway built from checkout's own settings for a
Stripe at ``api_base`` under ``api_key``, a sleep that records the waits it is asked for, the
raincoat order's payment, and the fake Stripe's charge figures."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from checkout_service.config import Settings
from checkout_service.payment_outcomes import PaymentRequest
from checkout_service.stripe_gateway import StripeGateway
from devstack.fake_stripe.client import FakeStripeAdmin

RAINCOAT_SHOP = "acct_1PuddleRaincoats"
WEBHOOK_SECRET = "whsec_puddle_raincoat_tests"


class RecordedSleeps:
    """The gateway's sleep: keeps each wait asked for and yields at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def stripe_only_settings(api_base: str, api_key: str, **stripe: Any) -> Settings:
    """checkout's settings with nothing but Stripe in use (no broker or database is reached)."""
    return Settings(
        environment="test",
        kafka_bootstrap_servers="127.0.0.1:1",
        mongodb_url="mongodb://127.0.0.1:1/",
        auth_public_key="unused by the gateway",
        service_signing_key="unused by the gateway",
        stripe_secret_key=api_key,
        stripe_api_base=api_base,
        stripe_webhook_secret=WEBHOOK_SECRET,
        **stripe,
    )


def gateway_for(api_base: str, api_key: str, sleeps: RecordedSleeps, **stripe: Any) -> StripeGateway:
    return StripeGateway.from_settings(stripe_only_settings(api_base, api_key, **stripe), sleep=sleeps)


def raincoat_payment(
    customer_id: str, payment_method_id: str, *, order_id: str = "order-raincoat-0001", **changes: Any
) -> PaymentRequest:
    """49.99 USD for the yellow raincoat: 2.50 to the platform, the rest to Puddle & Co."""
    request = PaymentRequest(
        order_id=order_id,
        amount_minor=4_999,
        currency="USD",
        customer_id=customer_id,
        payment_method_id=payment_method_id,
        application_fee_minor=250,
        destination_account=RAINCOAT_SHOP,
        off_session=False,
        idempotency_key=f"{order_id}:payment",
        metadata={"tweet_id": "tweet-puddle-raincoat"},
    )
    return replace(request, **changes)


def charge_figures(admin: FakeStripeAdmin) -> dict[str, Any]:
    """Succeeded charges in all, and how many orders were charged more than once."""
    report = admin.charges()
    return {
        "charges": report["succeeded_charges"],
        "double_charges": sum(1 for order in report["orders"].values() if order["charges"] > 1),
        "report": report,
    }
