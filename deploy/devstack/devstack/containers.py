"""The same three endpoints from Docker, through testcontainers and the official images, for
machines where a Docker engine answers (the local stack serves the others)."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from devstack.endpoints import Endpoints

KAFKA_IMAGE = "apache/kafka:3.9.2"
MONGO_IMAGE = "mongo:7.0"
STRIPE_MOCK_IMAGE = "stripe/stripe-mock:v0.203.0"
START_TIMEOUT_S = 120.0


def docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_http(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            request = urllib.request.Request(url, headers={"Authorization": "Bearer sk_test_tc"})
            with urllib.request.urlopen(request, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {START_TIMEOUT_S:.0f} s") from None
            time.sleep(0.5)


@contextmanager
def container_endpoints() -> Iterator[Endpoints]:
    """Start Kafka (KRaft), MongoDB and stripe-mock containers; stop them on exit."""
    from testcontainers.community.mongodb import MongoDbContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    kafka_port = _free_port()
    kafka = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(9092, kafka_port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{kafka_port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT")
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    )
    stripe_mock = DockerContainer(STRIPE_MOCK_IMAGE).with_exposed_ports(12111)
    with ExitStack() as stack:
        stack.enter_context(kafka)
        wait_for_logs(kafka, "Kafka Server started", timeout=START_TIMEOUT_S)
        mongo = stack.enter_context(MongoDbContainer(MONGO_IMAGE))
        stack.enter_context(stripe_mock)
        stripe_url = f"http://{stripe_mock.get_container_host_ip()}:{stripe_mock.get_exposed_port(12111)}"
        _wait_for_http(f"{stripe_url}/v1/balance")
        yield Endpoints(
            kafka_bootstrap=f"127.0.0.1:{kafka_port}",
            mongodb_url=mongo.get_connection_url(),
            stripe_api_base=stripe_url,
        )
