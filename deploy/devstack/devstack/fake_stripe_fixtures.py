"""pytest fixtures for the fake Stripe server (loaded through devstack.pytest_fixtures).

``fake_stripe_server`` (session): the server's URL. From the environment first
(``FAKE_STRIPE_API_BASE``, as ``devstack env`` exports it); otherwise one is started for the
session as a process on a free port (with or without Docker: it has no image) and stopped
afterwards. The shared stack's own fake is never restarted or reset as a whole.

``fake_stripe`` (per test): ``FakeStripeAccount`` with the URL, a secret key of this test's
own (``sk_test_<test name>_<suffix>``: the fake keeps each key's objects, counters, faults and
webhook endpoint apart) and an admin client scoped to it. Afterwards the key's account is
reset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devstack.components.fake_stripe import private_fake_stripe
from devstack.endpoints import fake_stripe_from_env
from devstack.fake_stripe.client import FakeStripeAdmin


@dataclass(frozen=True)
class FakeStripeAccount:
    url: str
    api_key: str
    admin: FakeStripeAdmin


@pytest.fixture(scope="session")
def fake_stripe_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given, _ = fake_stripe_from_env()
    if given is not None:
        yield given
        return
    with private_fake_stripe(tmp_path_factory.mktemp("fake-stripe")) as fake:
        yield fake.url


@pytest.fixture
def fake_stripe(fake_stripe_server: str, unique_name: str) -> Iterator[FakeStripeAccount]:
    api_key = f"sk_test_{unique_name.replace('-', '_')}"
    admin = FakeStripeAdmin(fake_stripe_server, api_key)
    try:
        yield FakeStripeAccount(fake_stripe_server, api_key, admin)
    finally:
        admin.reset()
        admin.close()
