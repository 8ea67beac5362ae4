"""Merchants' own access to their topics, on a real broker with the SASL/SCRAM listener and the
StandardAuthorizer: a private Kafka started for this module (the shared broker is never
restarted, and it may predate the merchant listener).

Given merchants Puddle and Galosh onboarded (topic, credential, ACLs) and one order on each topic
published by the platform on its PLAINTEXT listener:
- Puddle reads its own topic in its own group and commits;
- Puddle reading Galosh's topic, joining Galosh's group or a group outside its prefix, and
  writing even to its own topic are refused by the broker (authorisation errors, printed);
- a wrong password or an unknown user is refused at authentication;
- onboarding again replaces the password (the old one is refused);
- the platform's clients on the PLAINTEXT listener still create, write and read anything;
- ``relay-admin onboard-kafka`` prints credentials with which examples/merchant_kafka_consumer.py
  reads the topic, handling a message published twice (same webhook-id) once, across a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)

from buybutton.kafka.provision import provision, registry_specs
from devstack.components import MissingTool
from devstack.components.base import InstallFailed
from devstack.private import PrivateKafka, private_kafka
from merchant_relay.broker_access import MerchantBrokerAccess, merchant_admin_client, onboard_merchant

pytestmark = pytest.mark.stack
DEADLINE_S = 30.0
EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "merchant_kafka_consumer.py"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateKafka]:
    try:
        with private_kafka(Path(tmp_path_factory.mktemp("merchant-broker"))) as server:
            yield server
    except (MissingTool, InstallFailed) as error:
        pytest.skip(f"a private Kafka cannot be installed here: {error}")


@pytest.fixture
async def platform_admin(broker: PrivateKafka) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers, client_id="platform")
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@pytest.fixture
def merchant_ids() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:6]
    return f"puddle-and-co-{suffix}", f"galosh-goods-{suffix}"


@pytest.fixture
async def merchants(
    broker: PrivateKafka, platform_admin: AIOKafkaAdminClient, merchant_ids: tuple[str, str]
) -> tuple[MerchantBrokerAccess, MerchantBrokerAccess]:
    puddle, galosh = [
        await onboard_merchant(
            platform_admin, merchant_id, merchant_bootstrap_servers=broker.merchant_bootstrap_servers
        )
        for merchant_id in merchant_ids
    ]
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        for access in (puddle, galosh):
            await producer.send_and_wait(
                access.topic, f'{{"order_id": "order-for-{access.merchant_id}"}}'.encode(), key=b"order"
            )
    finally:
        await producer.stop()
    return puddle, galosh


def _sasl(access: MerchantBrokerAccess) -> dict[str, Any]:
    return {
        "security_protocol": access.security_protocol,
        "sasl_mechanism": access.mechanism,
        "sasl_plain_username": access.username,
        "sasl_plain_password": access.password,
    }


async def _read_one(broker: PrivateKafka, access: MerchantBrokerAccess, topic: str, group: str) -> bytes:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker.merchant_bootstrap_servers,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **_sasl(access),
    )
    try:
        await consumer.start()
        record = await asyncio.wait_for(consumer.getone(), DEADLINE_S)
        await consumer.commit()
        assert record.value is not None
        return bytes(record.value)
    finally:
        await consumer.stop()


async def _refused(what: str, attempt: Awaitable[object], error: type[KafkaError]) -> KafkaError:
    with pytest.raises(error) as refused:
        await asyncio.wait_for(attempt, DEADLINE_S)
    print(f"tried: {what} -> refused by the broker: {refused.value}")
    return refused.value


async def test_a_merchant_reads_its_own_topic_in_its_own_group(
    broker: PrivateKafka, merchants: tuple[MerchantBrokerAccess, MerchantBrokerAccess]
) -> None:
    puddle, _ = merchants

    value = await _read_one(broker, puddle, puddle.topic, f"{puddle.group_prefix}orders")

    assert value == f'{{"order_id": "order-for-{puddle.merchant_id}"}}'.encode()
    print(f"{puddle.username} read {value!r} from {puddle.topic} in group {puddle.group_prefix}orders")
    admin = merchant_admin_client(puddle, broker.merchant_bootstrap_servers)
    await admin.start()
    try:
        visible = await admin.list_topics()
    finally:
        await admin.close()
    print(f"topics {puddle.username} can see: {visible}")
    assert visible == [puddle.topic]


async def test_a_merchant_cannot_read_another_merchants_topic_nor_join_its_groups(
    broker: PrivateKafka, merchants: tuple[MerchantBrokerAccess, MerchantBrokerAccess]
) -> None:
    puddle, galosh = merchants
    own_group = f"{puddle.group_prefix}orders"

    await _refused(
        f"{puddle.username} subscribes to {galosh.topic}",
        _read_one(broker, puddle, galosh.topic, own_group),
        TopicAuthorizationFailedError,
    )
    await _refused(
        f"{puddle.username} joins {galosh.group_prefix}orders",
        _read_one(broker, puddle, puddle.topic, f"{galosh.group_prefix}orders"),
        GroupAuthorizationFailedError,
    )
    await _refused(
        f"{puddle.username} joins 'orders' (outside its prefix)",
        _read_one(broker, puddle, puddle.topic, "orders"),
        GroupAuthorizationFailedError,
    )
    fetched = await _fetch_assigned(broker, puddle, galosh.topic)
    print(f"tried: {puddle.username} assigns {galosh.topic} by hand -> records fetched: {fetched}")
    assert fetched == 0


async def _fetch_assigned(broker: PrivateKafka, access: MerchantBrokerAccess, topic: str) -> int:
    """Records a consumer gets from ``topic``'s partitions assigned by hand (no group, no
    subscription), reading for a few seconds."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.merchant_bootstrap_servers, auto_offset_reset="earliest", **_sasl(access)
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, partition) for partition in range(3)])
        batches = await consumer.getmany(timeout_ms=3000)
        return sum(len(records) for records in batches.values())
    except TopicAuthorizationFailedError as refused:
        print(f"   (the broker refused the fetch: {refused})")
        return 0
    finally:
        await consumer.stop()


async def test_a_merchant_cannot_write_even_to_its_own_topic(
    broker: PrivateKafka, merchants: tuple[MerchantBrokerAccess, MerchantBrokerAccess]
) -> None:
    puddle, _ = merchants
    producer = AIOKafkaProducer(bootstrap_servers=broker.merchant_bootstrap_servers, **_sasl(puddle))
    try:
        await producer.start()
        await _refused(
            f"{puddle.username} writes to {puddle.topic}",
            producer.send_and_wait(puddle.topic, b'{"order_id": "forged"}'),
            TopicAuthorizationFailedError,
        )
    finally:
        await producer.stop()


async def _authenticate(broker: PrivateKafka, username: str, password: str) -> None:
    host, port = broker.merchant_bootstrap_servers.rsplit(":", 1)
    connection = await create_conn(
        host,
        int(port),
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=username,
        sasl_plain_password=password,
    )
    connection.close()


async def test_a_wrong_password_or_an_unknown_user_is_refused_at_authentication(
    broker: PrivateKafka, merchants: tuple[MerchantBrokerAccess, MerchantBrokerAccess]
) -> None:
    puddle, _ = merchants

    await _authenticate(broker, puddle.username, puddle.password)
    print(f"{puddle.username} with its password: authenticated")
    await _refused(
        f"{puddle.username} with a wrong password",
        _authenticate(broker, puddle.username, "raincoat-in-july"),
        SaslAuthenticationFailed,
    )
    await _refused(
        "merchant-nobody (never onboarded)",
        _authenticate(broker, "merchant-nobody", puddle.password),
        SaslAuthenticationFailed,
    )


async def test_onboarding_again_replaces_the_password(
    broker: PrivateKafka,
    platform_admin: AIOKafkaAdminClient,
    merchants: tuple[MerchantBrokerAccess, MerchantBrokerAccess],
) -> None:
    puddle, _ = merchants

    renewed = await onboard_merchant(
        platform_admin, puddle.merchant_id, merchant_bootstrap_servers=broker.merchant_bootstrap_servers
    )

    assert renewed.password != puddle.password
    await _until(lambda: _refuses_login(broker, puddle), what="the old password to be refused")
    await _refused(
        f"{puddle.username} with the password from before",
        _authenticate_as(broker, puddle),
        SaslAuthenticationFailed,
    )
    value = await _read_one(broker, renewed, renewed.topic, f"{renewed.group_prefix}orders")
    assert value.startswith(b'{"order_id"')


def _authenticate_as(broker: PrivateKafka, access: MerchantBrokerAccess) -> Awaitable[None]:
    return _authenticate(broker, access.username, access.password)


async def _refuses_login(broker: PrivateKafka, access: MerchantBrokerAccess) -> bool:
    try:
        await _authenticate_as(broker, access)
    except SaslAuthenticationFailed:
        return True
    return False


async def _until(condition: Callable[[], Awaitable[bool]], *, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"waited {DEADLINE_S:.0f} s for {what}")
        await asyncio.sleep(0.2)


async def test_the_platforms_listener_keeps_every_right(
    broker: PrivateKafka,
    platform_admin: AIOKafkaAdminClient,
    merchants: tuple[MerchantBrokerAccess, MerchantBrokerAccess],
) -> None:
    puddle, galosh = merchants
    prefix = f"platform-{uuid.uuid4().hex[:6]}."

    reports = await provision(platform_admin, registry_specs(prefix))
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(f"{prefix}checkout.orders.v1", b'{"order_id": "plain"}', key=b"plain")
    finally:
        await producer.stop()
    read = []
    for topic in (f"{prefix}checkout.orders.v1", puddle.topic, galosh.topic):
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=broker.bootstrap_servers,
            group_id="merchant-relay",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            read.append((await asyncio.wait_for(consumer.getone(), DEADLINE_S)).topic)
            await consumer.commit()
        finally:
            await consumer.stop()

    print(f"platform listener: provisioned {len(reports)} topics, read {read} as group merchant-relay")
    assert all(report.outcome == "created" for report in reports)
    assert read == [f"{prefix}checkout.orders.v1", puddle.topic, galosh.topic]


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command[0]} exited {done.returncode}: {done.stderr[-2000:]}"
    return done.stdout


def _onboard_with_relay_admin(broker: PrivateKafka, merchant_id: str) -> dict[str, str]:
    """``relay-admin onboard-kafka`` as an operator runs it; the credentials it printed."""
    printed = _run(
        [str(Path(sys.executable).parent / "relay-admin"), "onboard-kafka", merchant_id],
        {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "RELAY_MERCHANT_KAFKA_BOOTSTRAP_SERVERS": broker.merchant_bootstrap_servers,
        },
    )
    lines = [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in printed.splitlines()[1:]]
    return {name: value for name, value in lines}


async def _publish(broker: PrivateKafka, topic: str, messages: list[tuple[str, str, str]]) -> None:
    """(webhook-id, type, order id) records as the relay publishes them."""
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        for webhook_id, kind, order_id in messages:
            body = {"type": kind, "timestamp": "2025-06-01T12:00:00Z", "data": {"order_id": order_id}}
            await producer.send_and_wait(
                topic,
                json.dumps(body).encode(),
                key=order_id.encode(),
                headers=[("webhook-id", webhook_id.encode()), ("type", kind.encode())],
            )
    finally:
        await producer.stop()


def _example(credentials: dict[str, str], seen_file: Path, stop_after: int) -> list[dict[str, Any]]:
    printed = _run(
        [
            sys.executable,
            str(EXAMPLE),
            "--seen-file",
            str(seen_file),
            "--stop-after",
            str(stop_after),
        ],
        {
            "MERCHANT_KAFKA_BOOTSTRAP_SERVERS": credentials["bootstrap.servers"],
            "MERCHANT_KAFKA_USERNAME": credentials["username"],
            "MERCHANT_KAFKA_PASSWORD": credentials["password"],
            "MERCHANT_KAFKA_TOPIC": credentials["topic"],
        },
    )
    return [json.loads(line) for line in printed.splitlines()]


async def test_the_example_consumer_reads_with_onboarded_credentials_and_handles_each_message_once(
    broker: PrivateKafka, tmp_path: Path
) -> None:
    merchant_id = f"wellington-boots-{uuid.uuid4().hex[:6]}"
    credentials = await asyncio.to_thread(_onboard_with_relay_admin, broker, merchant_id)
    assert credentials["username"] == f"merchant-{merchant_id}"
    assert credentials["consumer groups"] == f"merchant-{merchant_id}.<anything>"
    seen_file = tmp_path / "seen.txt"
    await _publish(
        broker,
        credentials["topic"],
        [
            ("msg_paid1", "order.paid", "order-1"),
            ("msg_paid1", "order.paid", "order-1"),
            ("msg_paid2", "order.paid", "order-2"),
        ],
    )

    first = await asyncio.to_thread(_example, credentials, seen_file, 3)
    await _publish(
        broker,
        credentials["topic"],
        [("msg_paid2", "order.paid", "order-2"), ("msg_refund1", "order.refunded", "order-1")],
    )
    after_restart = await asyncio.to_thread(_example, credentials, seen_file, 2)

    print(f"first run: {first}\nafter a restart: {after_restart}")
    handled = [line["handled"] for line in first + after_restart if "handled" in line]
    skipped = [line["duplicate_skipped"] for line in first + after_restart if "duplicate_skipped" in line]
    print(f"records read 5, handled {len(handled)}, duplicates skipped {len(skipped)}")
    # orders 1 and 2 sit on different partitions: their relative order is the broker's choice
    assert sorted(handled) == ["msg_paid1", "msg_paid2", "msg_refund1"]
    assert sorted(skipped) == ["msg_paid1", "msg_paid2"]
