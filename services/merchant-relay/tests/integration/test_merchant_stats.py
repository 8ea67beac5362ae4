"""The per-merchant statistics, from the statistics table (a faust-streaming app) through the
merchant API: each paid order that reached the merchant counted once in forwarded, delivered,
GMV and payouts, a delivery being retried counted in failing while it fails, under duplicate
deliveries of the orders, of the activity records themselves, and a relay restart; a merchant
sees only its own. Given a real broker, database and vault; the relay in-process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from fastapi.testclient import TestClient
from relay_api_support import merchant
from relay_support import PUDDLE, Receiver, VaultCalls, endpoint_document, paid_order_events, publish

from buybutton.auth import TokenIssuer
from buybutton.events import MerchantDeliveryChanged
from buybutton.kafka.codec import decode
from buybutton.kafka.producer import create_producer
from buybutton.topics import MERCHANT_ACTIVITY, MERCHANT_ORDERS
from devstack.identity import TrustedSigner
from devstack.service_process import RunningService
from devstack.testing import read_until, wait_caught_up
from merchant_relay.app import create_app
from merchant_relay.config import Settings

GALOSH = "merchant-galosh-gmbh"
PUDDLE_ORDERS = [(f"order-stats-puddle-{n}", f"buyer-stats-{n}") for n in range(3)]
GALOSH_ORDER = ("order-stats-galosh-0", "buyer-stats-galosh")


@pytest.fixture
def relay_overrides(tweet_signer: TrustedSigner) -> dict[str, Any]:
    return {"auth_trusted_issuers": [tweet_signer.spec]}


@pytest.fixture
async def galosh_topic_cleanup(kafka_admin: AIOKafkaAdminClient, topic_prefix: str) -> AsyncIterator[None]:
    """Galosh has no endpoint: its order goes to its own topic, which the test deletes after."""
    yield
    name = MERCHANT_ORDERS.for_merchant(GALOSH, topic_prefix)
    if name in await kafka_admin.list_topics():
        await kafka_admin.delete_topics([name])


@pytest.fixture
def failing_first(receiver: Receiver) -> Iterator[dict[str, int]]:
    """Every webhook-id's first two posts answer 500, the third 200."""
    seen: dict[str, int] = {}

    def answer(webhook_id: str) -> tuple[int, dict[str, str]]:
        seen[webhook_id] = seen.get(webhook_id, 0) + 1
        return (500, {}) if seen[webhook_id] <= 2 else (200, {})

    receiver.answer = answer
    yield seen


def stats_of(client: TestClient, issuer: TokenIssuer, merchant_id: str) -> dict[str, Any]:
    answer = client.get(f"/v1/merchants/{merchant_id}/stats", headers=merchant(issuer, merchant_id))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def wait_for_stats(
    client: TestClient, issuer: TokenIssuer, merchant_id: str, expected: dict[str, Any], timeout_s: float = 60
) -> dict[str, Any]:
    """The merchant's statistics once they show ``expected`` (or the last seen, at the deadline)."""
    deadline = time.monotonic() + timeout_s
    while True:
        shown = stats_of(client, issuer, merchant_id)
        if {k: shown[k] for k in expected} == expected or time.monotonic() > deadline:
            return shown
        time.sleep(0.2)


async def test_statistics_count_each_change_once_and_show_only_the_merchant_its_own(
    relay_settings: Settings,
    relay_db: Any,
    receiver: Receiver,
    failing_first: dict[str, int],
    vault_service: tuple[RunningService, VaultCalls],
    merchant_issuer: TokenIssuer,
    merchant_topic_cleanup: str,
    galosh_topic_cleanup: None,
) -> None:
    vault = vault_service[1]
    relay_db.endpoints.insert_one(endpoint_document(PUDDLE, receiver.url, receiver.secret))
    for order_id, buyer_id in [*PUDDLE_ORDERS, GALOSH_ORDER]:
        vault.store_order_address(buyer_id, order_id)
    bootstrap, prefix = relay_settings.kafka_bootstrap_servers, relay_settings.topic_prefix
    events = [e for order_id, buyer_id in PUDDLE_ORDERS for e in paid_order_events(order_id, buyer_id)]
    events += paid_order_events(*GALOSH_ORDER, merchant_id=GALOSH)

    with TestClient(create_app(relay_settings)) as client:
        await publish(bootstrap, prefix, events)
        await publish(bootstrap, prefix, events)  # every order delivered twice: no second delivery
        usd = 3 * 4_999
        puddle_done = {"forwarded": 3, "delivered": 3, "failing": 0, "dead": 0}
        puddle = wait_for_stats(client, merchant_issuer, PUDDLE, puddle_done)
        galosh = wait_for_stats(client, merchant_issuer, GALOSH, {"forwarded": 1, "delivered": 1})
        refused = client.get(f"/v1/merchants/{PUDDLE}/stats", headers=merchant(merchant_issuer, GALOSH))

    activity = MERCHANT_ACTIVITY.named(prefix)
    records = await read_until(bootstrap, activity, lambda r: len(r) >= 7)
    told = [(r.key, r.value) for r in records]
    changes = [decode(value) for _, value in told]
    paid_webhooks = [c for c in changes if isinstance(c, MerchantDeliveryChanged) and c.merchant_id == PUDDLE]
    moves = sorted((c.previous or "-", c.standing, c.forwarded) for c in paid_webhooks)
    producer = create_producer(bootstrap, client_id="tests-stats-repeats")
    await producer.start()
    try:
        for key, value in told:  # the outbox relay sending every change again
            await producer.send_and_wait(activity, value, key=key)
    finally:
        await producer.stop()

    with TestClient(create_app(relay_settings)) as restarted:  # the table recovered, the repeats read
        repeated = wait_for_stats(restarted, merchant_issuer, PUDDLE, {"forwarded": 3}, 30)
        await wait_caught_up(bootstrap, relay_settings.stats_group_id, activity)  # every repeat folded
        again = stats_of(restarted, merchant_issuer, PUDDLE)

    print(
        f"posts {len(receiver.posts)} (500s injected {sum(min(n, 2) for n in failing_first.values())}), "
        f"activity records {len(told)}, each sent again once, then a restart; "
        f"puddle {puddle}, galosh {galosh}, after the repeats {again}"
    )
    assert {k: puddle[k] for k in puddle_done} == puddle_done
    assert puddle["gmv"] == {"USD": usd} and puddle["payouts"] == {"USD": 3 * 4_749}
    assert {k: galosh[k] for k in ("forwarded", "delivered", "failing")} == {
        "forwarded": 1,
        "delivered": 1,
        "failing": 0,
    }
    assert galosh["gmv"] == {"USD": 4_999}
    assert refused.status_code == 403
    assert repeated == again == puddle
    assert moves == [("-", "failing", True)] * 3 + [("failing", "delivered", False)] * 3
