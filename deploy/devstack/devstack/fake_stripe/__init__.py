"""A stateful, fault-injecting fake of the Stripe API subset checkout uses.

stripe-mock answers every request with fixed data and keeps nothing, so it shows request
shapes but not behaviour. This fake keeps state in memory and follows Stripe's documented
semantics for customers, payment methods (the test cards), PaymentIntents (declines, 3-D
Secure), refunds, idempotent requests and signed webhooks; it counts charges and injects
faults on request (``/_fake/``). Each secret key is its own account. Start it with
``python -m devstack.fake_stripe`` (``devstack up`` does) and point ``StripeClient`` at it with
``base_addresses={"api": <its URL>}``.
"""

from devstack.fake_stripe.app import create_app
from devstack.fake_stripe.settings import FakeStripeSettings

__all__ = ["FakeStripeSettings", "create_app"]
