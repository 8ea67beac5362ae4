"""The fake Stripe server as part of the local stack: started beside stripe-mock, exported
beside it, refused on a port another program holds, and run privately for a test session;
its admin API answers loopback callers only; a person can finish 3-D Secure in a browser."""

from __future__ import annotations

import socket
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fake_stripe_support import card_payment, stripe_client

from devstack.components.fake_stripe import private_fake_stripe
from devstack.config import StackSettings
from devstack.endpoints import Endpoints
from devstack.fake_stripe import create_app
from devstack.fake_stripe_fixtures import FakeStripeAccount
from devstack.stack import Stack, StackError


def test_the_stack_runs_the_fake_beside_stripe_mock_and_exports_both(tmp_path: Path) -> None:
    stack = Stack(StackSettings(state_dir=tmp_path), report=lambda _: None)
    assert [c.name for c in stack.infrastructure][-2:] == ["stripe-mock", "fake-stripe"]
    env = stack.endpoints().as_env()
    assert env["STRIPE_API_BASE"] == "http://127.0.0.1:12111"
    assert env["FAKE_STRIPE_API_BASE"] == "http://127.0.0.1:12113"
    secret_file = tmp_path / "fake-stripe" / "webhook_secret"
    assert env["FAKE_STRIPE_WEBHOOK_SECRET"] == secret_file.read_text() and env[
        "FAKE_STRIPE_WEBHOOK_SECRET"
    ].startswith("whsec_")
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert "--webhook-secret" not in stack.fake_stripe.command(), "the secret travels in the environment"


def test_the_fake_stripe_endpoint_is_optional_beside_the_three(tmp_path: Path) -> None:
    three = {
        "KAFKA_BOOTSTRAP_SERVERS": "k:9092",
        "MONGODB_URL": "mongodb://m/",
        "STRIPE_API_BASE": "http://s:12111",
    }
    assert Endpoints.from_env(three) == Endpoints("k:9092", "mongodb://m/", "http://s:12111")
    with_fake = Endpoints.from_env({**three, "FAKE_STRIPE_API_BASE": "http://f:12113"})
    assert with_fake is not None and with_fake.as_env()["FAKE_STRIPE_API_BASE"] == "http://f:12113"
    assert Endpoints.from_env({"FAKE_STRIPE_API_BASE": "http://f:12113"}) is None


def test_a_port_taken_by_another_program_is_not_taken_over(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        stack = Stack(StackSettings(state_dir=tmp_path, fake_stripe_port=port), report=lambda _: None)
        with pytest.raises(StackError, match=rf"fake-stripe: 127.0.0.1:{port} is already taken"):
            stack._start(stack.fake_stripe)


def test_a_private_fake_answers_and_is_stopped_afterwards(tmp_path: Path) -> None:
    with private_fake_stripe(tmp_path) as fake:
        fake.probe()
        port = fake.settings.fake_stripe_port
        assert httpx.get(f"{fake.url}/_fake/health").json() == {"service": "fake-stripe", "ok": True}
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "nothing listens once it is stopped"


async def test_the_admin_api_answers_loopback_callers_only() -> None:
    app = create_app()
    for caller, expected in ((("203.0.113.9", 40000), 403), (("127.0.0.1", 40000), 200)):
        transport = httpx.ASGITransport(app=app, client=caller)
        async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
            assert (await client.get("/_fake/charges")).status_code == expected, caller


def test_a_person_finishes_3d_secure_on_the_fakes_page_and_returns_to_the_shop(
    fake_stripe: FakeStripeAccount,
) -> None:
    intent = stripe_client(fake_stripe).v1.payment_intents.create(
        card_payment("pm_card_threeDSecure2Required", return_url="https://shop.test/orders/raincoat")
    )
    assert intent.next_action is not None and intent.next_action.redirect_to_url is not None
    page_url = str(intent.next_action.redirect_to_url.url)
    page = httpx.get(page_url)
    assert page.status_code == 200 and "Complete authentication" in page.text
    answer = httpx.post(page_url, data={"outcome": "succeed"})
    assert answer.status_code == 303
    back = urlparse(answer.headers["location"])
    assert (back.netloc, back.path) == ("shop.test", "/orders/raincoat")
    assert parse_qs(back.query)["redirect_status"] == ["succeeded"]
    assert stripe_client(fake_stripe).v1.payment_intents.retrieve(intent.id).status == "succeeded"
