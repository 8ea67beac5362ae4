"""The broker's configuration, without starting it: the platform's PLAINTEXT listener beside the
merchants' SASL/SCRAM one, the StandardAuthorizer refusing what no ACL allows, the unauthenticated
listeners' principal a super user; a running broker without the merchant listener is reported;
private brokers get a merchant port of their own."""

from __future__ import annotations

import socket
from pathlib import Path

from devstack.components import Kafka
from devstack.config import StackSettings
from devstack.private import kafka_settings
from devstack.service_process import free_port


def _properties(settings: StackSettings) -> dict[str, str]:
    kafka = Kafka(settings)
    kafka._write_properties()
    lines = kafka.properties_file.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_merchants_get_a_sasl_scram_listener_and_the_platform_keeps_its_own(tmp_path: Path) -> None:
    settings = StackSettings(
        state_dir=tmp_path, kafka_port=29092, kafka_controller_port=29093, kafka_merchant_port=29094
    )

    properties = _properties(settings)

    assert properties["listeners"] == (
        "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093,MERCHANT://127.0.0.1:29094"
    )
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092,MERCHANT://127.0.0.1:29094"
    assert "MERCHANT:SASL_PLAINTEXT" in properties["listener.security.protocol.map"].split(",")
    assert "PLAINTEXT:PLAINTEXT" in properties["listener.security.protocol.map"].split(",")
    assert properties["listener.name.merchant.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert "ScramLoginModule" in properties["listener.name.merchant.scram-sha-512.sasl.jaas.config"]
    assert properties["authorizer.class.name"].endswith("StandardAuthorizer")
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["super.users"] == "User:ANONYMOUS"
    assert properties["inter.broker.listener.name"] == "PLAINTEXT"


def test_a_running_broker_without_the_merchant_listener_is_reported(tmp_path: Path) -> None:
    closed = StackSettings(state_dir=tmp_path, kafka_merchant_port=free_port())
    assert "no merchant listener" in (Kafka(closed).configuration_drift() or "")

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        answering = StackSettings(state_dir=tmp_path, kafka_merchant_port=listening.getsockname()[1])
        assert Kafka(answering).configuration_drift() is None


def test_a_private_broker_has_three_ports_of_its_own(tmp_path: Path) -> None:
    settings = kafka_settings(tmp_path)
    ports = {settings.kafka_port, settings.kafka_controller_port, settings.kafka_merchant_port}

    assert len(ports) == 3
    assert not ports & {19092, 19093, 19094}
