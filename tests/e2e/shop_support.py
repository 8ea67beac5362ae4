"""A shop open for a test or a benchmark: vault-service and one or more checkout-service
instances as real processes on this test's own topics and databases, paying through the fake Stripe under this
test's own secret key (its webhook pointed at the first checkout instance), with Puddle & Co.'s
raincoat on sale to US buyers. Tests tap Buy, confirm and wait for an order's state with it,
and read what came of it: the events on its topics (``ShopSetup.events``) and Stripe's own
objects at the fake (``Shop.stripe_get``). Free of pytest, so that bench/checkout.py opens the
same shop; the ``shop_setup`` fixture that builds a test's ShopSetup is in shop_fixtures.py.

The services are configured only by environment variables, as in production: checkout signs
its service tokens to the vault with a key of its own that the vault trusts
(AUTH_TRUSTED_ISSUERS), and verifies buyers' tokens from the test identity provider.

merchant-relay instances join on demand (``Shop.start_relay``, or ``open(relay=True)``, whose
first relay ``Shop.relay`` is a client of): the vault trusts the relay's own
signer for ``shipping:read``, the relay trusts a test tweet-service signer for merchant tokens
(``Shop.merchant_of_relay``), allows receivers on 127.0.0.1 (RELAY_ENDPOINT_RULES=local) and
retries within seconds, not hours (``ShopSetup.with_relay`` changes its knobs).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import secrets
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from checkout_support import GALOSH, GALOSH_TWEET, RAINCOAT_TWEET, posted, publish, rules, terms

from buybutton.auth import TokenIssuer, generate_signing_key
from buybutton.events import Event
from buybutton.kafka.codec import decode
from buybutton.sensitive import card_free
from buybutton.topics import CHECKOUT as CHECKOUT_TOPIC
from buybutton.topics import Topic
from devstack.fake_stripe.client import FakeStripeAdmin
from devstack.service_process import RunningService, running_service
from devstack.testing import read_until

CHECKOUT = "checkout-service"
RELAY = "merchant-relay"
VAULT_SCOPES = ("profiles:write", "payment:read", "profiles:hint")
RELAY_KNOBS = {
    "RELAY_ENDPOINT_RULES": "local",  # the tests' receivers listen on 127.0.0.1
    "RELAY_VAULT_TIMEOUT_S": "2",
    "RELAY_PUBLISH_TIMEOUT_S": "3",
    "RELAY_ATTEMPT_TIMEOUT_S": "2",
    "RELAY_LEASE_S": "10",
    "RELAY_BACKOFF_BASE_S": "0.2",
    "RELAY_BACKOFF_CAP_S": "1",
    "RELAY_DELIVERY_IDLE_S": "0.05",
    "RELAY_OUTBOX_IDLE_S": "0.05",
}
FIRST_ADDRESS = {
    "recipient": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "city": "Boston",
    "region": "MA",
    "postal_code": "02118",
    "country": "US",
}
PAID_OR_LATER = frozenset({"paid", "forwarded", "shipped", "fulfilled", "refunded"})
ENDED = PAID_OR_LATER | {"failed", "cancelled"}
EventT = TypeVar("EventT", bound=Event)


@dataclass(frozen=True)
class ShopConfig:
    """Everything a shop's processes are started with; ``checkout_env`` starts one more instance,
    ``relay_env`` one more merchant-relay (``merchant_tokens_key`` signs the merchant tokens it
    trusts, as tweet-service's key would)."""

    common: dict[str, str]
    checkout: dict[str, str]
    vault: dict[str, str]
    relay: dict[str, str] = field(default_factory=dict)
    merchant_tokens_key: str = ""

    def checkout_env(self, **overrides: str) -> dict[str, str]:
        return {**self.common, **self.checkout, **overrides}

    def relay_env(self, **overrides: str) -> dict[str, str]:
        return {**self.common, **self.relay, **overrides}


def shop_config(
    *,
    endpoints_env: Mapping[str, str],
    prefix: str,
    unique_name: str,
    identity_public_key: str,
    stripe_url: str,
    stripe_key: str,
    webhook_secret: str,
    state_dir: Path,
    hold_s: float = 600,
) -> ShopConfig:
    database = unique_name.replace("-", "_")[:40]
    private_key, public_key = generate_signing_key()
    trusted = [
        {
            "issuer": CHECKOUT,
            "public_key": public_key,
            "kinds": ["service"],
            "subjects": [CHECKOUT],
            "scopes": list(VAULT_SCOPES),
        }
    ]
    relay_private_key, relay_public_key = generate_signing_key()
    trusted.append(
        {
            "issuer": RELAY,
            "public_key": relay_public_key,
            "kinds": ["service"],
            "subjects": [RELAY],
            "scopes": ["shipping:read"],
        }
    )
    merchant_private_key, merchant_public_key = generate_signing_key()
    merchant_tokens = [{"issuer": "tweet-service", "public_key": merchant_public_key, "kinds": ["merchant"]}]
    common = {
        **endpoints_env,
        "ENVIRONMENT": "test",
        "AUTH_PUBLIC_KEY": identity_public_key,
        "KAFKA_TOPIC_PREFIX": prefix,
        "LOG_LEVEL": "INFO",
    }
    vault = {
        "AUTH_TRUSTED_ISSUERS": json.dumps(trusted),
        "VAULT_MONGODB_DATABASE": f"{database}_vault",
        "VAULT_KEYSTORE_PATH": str(state_dir / "vault-keys.sqlite3"),
        "VAULT_MASTER_KEYS": "1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    checkout = {
        "CHECKOUT_MONGODB_DATABASE": f"{database}_checkout",
        "CHECKOUT_SERVICE_SIGNING_KEY": private_key,
        "CHECKOUT_STRIPE_SECRET_KEY": stripe_key,
        "CHECKOUT_STRIPE_API_BASE": stripe_url,
        "CHECKOUT_STRIPE_WEBHOOK_SECRET": webhook_secret,
        "CHECKOUT_HOLD_S": str(hold_s),
        "CHECKOUT_SWEEP_INTERVAL_S": "0.2",
        "CHECKOUT_ORPHAN_GRACE_S": "1",
        "CHECKOUT_PAYMENT_CHECK_S": "2",
        "CHECKOUT_RULES_WAIT_S": "30",
    }
    relay = {
        **RELAY_KNOBS,
        "RELAY_MONGODB_DATABASE": f"{database}_relay",
        "RELAY_CONSUMER_GROUP": f"{unique_name}-merchant-relay",  # no rebalances by other tests' relays
        "RELAY_SERVICE_SIGNING_KEY": relay_private_key,
        "AUTH_TRUSTED_ISSUERS": json.dumps(merchant_tokens),
    }
    return ShopConfig(common, checkout, vault, relay, merchant_private_key)


@dataclass
class Shop:
    config: ShopConfig
    issuer: TokenIssuer
    stripe: FakeStripeAdmin
    webhook_secret: str
    stack: contextlib.ExitStack
    vault: RunningService
    checkouts: list[RunningService] = field(default_factory=list)
    clients: list[httpx.Client] = field(default_factory=list)
    relays: list[RunningService] = field(default_factory=list)
    relay: httpx.Client | None = None  # a client of the first relay started

    @property
    def client(self) -> httpx.Client:
        return self.clients[-1]

    def start_checkout(self) -> httpx.Client:
        """One more checkout instance (a new member of both its consumer groups); Stripe's
        webhook then goes to it."""
        env = self.config.checkout_env(CHECKOUT_VAULT_URL=self.vault.url)
        service = self.stack.enter_context(running_service(CHECKOUT, env))
        client = self.stack.enter_context(httpx.Client(base_url=service.url, timeout=30))
        self.checkouts.append(service)
        self.clients.append(client)
        self.stripe.set_webhook(f"{service.url}/v1/stripe/webhook", self.webhook_secret)
        wait_until_selling(client, self.issuer)
        return client

    def kill_checkout(self, index: int = -1) -> None:
        """SIGKILL one instance (no shutdown of any kind) and forget its client."""
        service = self.checkouts.pop(index)
        self.clients.pop(index)
        service.process.send_signal(signal.SIGKILL)
        service.process.wait(timeout=30)

    def start_relay(self) -> RunningService:
        """One more merchant-relay instance (a new member of group merchant-relay), reading
        addresses from this shop's vault."""
        env = self.config.relay_env(RELAY_VAULT_URL=self.vault.url)
        service = self.stack.enter_context(running_service(RELAY, env))
        self.relays.append(service)
        if self.relay is None:
            self.relay = self.stack.enter_context(httpx.Client(base_url=service.url, timeout=30))
        return service

    def kill_relay(self, index: int = 0) -> RunningService:
        """SIGKILL one relay instance (no shutdown of any kind); the killed one is returned."""
        service = self.relays.pop(index)
        service.process.send_signal(signal.SIGKILL)
        service.process.wait(timeout=30)
        return service

    def merchant_of_relay(self, merchant_id: str) -> dict[str, str]:
        """A merchant token for the relay's merchant API, as tweet-service signs one."""
        issuer = TokenIssuer(self.config.merchant_tokens_key, issuer="tweet-service")
        return {"Authorization": f"Bearer {issuer.mint('merchant', merchant_id, audience=RELAY)}"}

    def register_endpoint(self, merchant_id: str, url: str) -> str:
        """The merchant's first registration of its webhook endpoint, at the first relay; the
        signing secret it is shown once."""
        path = f"/v1/merchants/{merchant_id}/endpoint"
        answer = httpx.put(
            self.relays[0].url + path, json={"url": url}, headers=self.merchant_of_relay(merchant_id)
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["secret"])

    def buyer(self, buyer_id: str, country: str | None = "US") -> dict[str, str]:
        token = self.issuer.mint("buyer", buyer_id, audience=CHECKOUT, country=country)
        return {"Authorization": f"Bearer {token}"}

    def admin(self, *scopes: str) -> dict[str, str]:
        token = self.issuer.mint("admin", "admin-grace", audience=CHECKOUT, scopes=scopes)
        return {"Authorization": f"Bearer {token}"}

    def merchant(self, merchant_id: str) -> dict[str, str]:
        token = self.issuer.mint("merchant", merchant_id, audience=CHECKOUT)
        return {"Authorization": f"Bearer {token}"}

    def tap(
        self,
        buyer_id: str,
        key: str,
        *,
        quantity: int = 1,
        tweet_id: str = RAINCOAT_TWEET,
        variant_id: str = "raincoat-m",
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        body = {"tweet_id": tweet_id, "variant_id": variant_id, "quantity": quantity}
        headers = {**self.buyer(buyer_id), "Idempotency-Key": key}
        return (client or self.client).post("/v1/orders", json=body, headers=headers)

    def confirm(
        self,
        buyer_id: str,
        order_id: str,
        body: Mapping[str, Any],
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        path = f"/v1/orders/{order_id}/confirm"
        return (client or self.client).post(path, json=dict(body), headers=self.buyer(buyer_id))

    def order(self, buyer_id: str, order_id: str) -> dict[str, Any]:
        response = self.client.get(f"/v1/orders/{order_id}", headers=self.buyer(buyer_id))
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    def wait_for(
        self, buyer_id: str, order_id: str, states: frozenset[str] | set[str], timeout_s: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            order = self.order(buyer_id, order_id)
            if order["state"] in states:
                return order
            if time.monotonic() > deadline:
                raise AssertionError(f"order {order_id} is {order['state']}, not in {sorted(states)}")
            time.sleep(0.1)

    def tap_until_held(self, buyer_id: str, key: str, timeout_s: float = 30) -> httpx.Response:
        """Tap until stock is held (201): a released hold comes back once the payment worker
        took the order's PaymentFailed or OrderCancelled, a moment after the order's state."""
        deadline = time.monotonic() + timeout_s
        while (answer := self.tap(buyer_id, key)).status_code == 409:
            if time.monotonic() > deadline:
                raise AssertionError(f"no stock came back for {buyer_id} in {timeout_s} s")
            time.sleep(0.2)
        return answer

    def tap_until_offered(self, buyer_id: str, key: str, timeout_s: float = 30) -> dict[str, Any]:
        """Tap Buy (then the same key again) until the answer offers a saved profile for one
        tap: the worker hands the card to the vault just after the capture."""
        answer = self.tap(buyer_id, key)
        deadline = time.monotonic() + timeout_s
        while answer.status_code in (200, 201) and answer.json()["saved_profile"] is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{buyer_id} was never offered one tap")
            time.sleep(0.2)
            answer = self.tap(buyer_id, key)
        assert answer.status_code in (200, 201), answer.text
        offered: dict[str, Any] = answer.json()
        return offered

    def stripe_get(self, path: str) -> httpx.Response:
        """Stripe's own API at the fake (``/v1/...``), under this shop's secret key."""
        key = self.config.checkout["CHECKOUT_STRIPE_SECRET_KEY"]
        with httpx.Client(base_url=self.stripe.base_url, auth=(key, ""), timeout=10) as api:
            return api.get(path)


def payment_intent_of(next_action: Mapping[str, Any]) -> str:
    """The PaymentIntent a 3-D Secure ``client_secret`` belongs to (``pi_..._secret_...``), as
    Stripe.js reads it."""
    return str(next_action["client_secret"]).split("_secret_")[0]


def new_card_confirmation(payment_method: str = "pm_card_visa", *, remember: bool = True) -> dict[str, Any]:
    return {"shipping_address": FIRST_ADDRESS, "payment_method": payment_method, "remember": remember}


def stock_events(bootstrap: str, prefix: str, *, stock_m: int = 5, fee_bps: int = 500) -> None:
    asyncio.run(
        publish(
            bootstrap,
            prefix,
            rules(),
            posted(stock_m=stock_m),
            posted(GALOSH_TWEET, GALOSH),
            terms(fee_bps=fee_bps),
            terms(GALOSH),
        )
    )


def delete_merchant_topics(bootstrap: str, prefix: str) -> list[str]:
    """The merchant topics merchant-relay created under ``prefix``, deleted; their names."""

    async def run() -> list[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tests-cleanup")
        await admin.start()
        try:
            names = [t for t in await admin.list_topics() if t.startswith(f"{prefix}merchant.")]
            if names:
                await admin.delete_topics(names)
            return names
        finally:
            await admin.close()

    return asyncio.run(run())


def wait_until_selling(client: httpx.Client, issuer: TokenIssuer, timeout_s: float = 60) -> None:
    """Until checkout's view holds the raincoat and the seller's terms (a probe tap on the
    sold-out size L answers 409 only then; nothing is held by it)."""
    token = issuer.mint("buyer", "buyer-probe", audience=CHECKOUT, country="US")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": card_free(lambda: secrets.token_hex(8))}
    body = {"tweet_id": RAINCOAT_TWEET, "variant_id": "raincoat-l", "quantity": 1}
    deadline = time.monotonic() + timeout_s
    while client.post("/v1/orders", json=body, headers=headers).status_code != 409:
        if time.monotonic() > deadline:
            raise AssertionError("checkout never started selling the raincoat")
        time.sleep(0.2)


@contextlib.contextmanager
def open_shop(
    config: ShopConfig,
    *,
    issuer: TokenIssuer,
    stripe: FakeStripeAdmin,
    webhook_secret: str,
    checkout_instances: int = 1,
    relay: bool = False,
) -> Iterator[Shop]:
    with contextlib.ExitStack() as stack:
        vault = stack.enter_context(running_service("vault-service", {**config.common, **config.vault}))
        shop = Shop(config, issuer, stripe, webhook_secret, stack, vault)
        for _ in range(checkout_instances):
            shop.start_checkout()
        if relay:
            shop.start_relay()
        yield shop


@dataclass(frozen=True)
class ShopSetup:
    """What a test needs to open its shop, from the fixtures (``shop_setup``)."""

    config: ShopConfig
    issuer: TokenIssuer
    stripe: FakeStripeAdmin
    webhook_secret: str
    bootstrap: str
    prefix: str

    def with_checkout(self, **env: str) -> ShopSetup:
        """The same shop with checkout started with ``env`` on top (CHECKOUT_HOLD_S=...)."""
        config = dataclasses.replace(self.config, checkout={**self.config.checkout, **env})
        return dataclasses.replace(self, config=config)

    def with_relay(self, **env: str) -> ShopSetup:
        """The same shop with merchant-relay started with ``env`` on top (RELAY_LEASE_S=...)."""
        config = dataclasses.replace(self.config, relay={**self.config.relay, **env})
        return dataclasses.replace(self, config=config)

    def events(
        self,
        kind: type[EventT],
        done: Callable[[list[EventT]], bool],
        *,
        topic: Topic = CHECKOUT_TOPIC,
        timeout_s: float = 30,
    ) -> list[EventT]:
        """The ``kind`` events on ``topic`` (checkout's orders unless told), read from the start
        until ``done``."""

        def of_kind(records: list[Any]) -> list[EventT]:
            events = (decode(r.value, r.headers) for r in records)
            return [e for e in events if isinstance(e, kind)]

        name = topic.named(self.prefix)
        found = asyncio.run(
            read_until(self.bootstrap, name, lambda rs: done(of_kind(rs)), timeout_s=timeout_s)
        )
        return of_kind(found)

    def open(
        self, *, checkout_instances: int = 1, stock_m: int = 5, fee_bps: int = 500, relay: bool = False
    ) -> Any:
        """The shop, open; with ``relay`` one merchant-relay instance too (``Shop.relay``)."""
        stock_events(self.bootstrap, self.prefix, stock_m=stock_m, fee_bps=fee_bps)
        return open_shop(
            self.config,
            issuer=self.issuer,
            stripe=self.stripe,
            webhook_secret=self.webhook_secret,
            checkout_instances=checkout_instances,
            relay=relay,
        )
