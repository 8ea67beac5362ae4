"""pytest fixtures for tests that need the real components.

``endpoints`` (session): from the environment first (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL,
STRIPE_API_BASE), else from testcontainers when a Docker engine answers, else from the local
stack (started if needed, and stopped afterwards if this session started it).

Identity: ``signing_key`` (one Ed25519 pair per session) and ``issuer``, which mints the tokens
that services built with the public half verify. ``trusted_signer(name, kinds=..., scopes=...,
subjects=...)`` makes a signer besides the identity (a service that signs its own tokens): its
key pair, its TokenIssuer and the AUTH_TRUSTED_ISSUERS JSON that trusts it
(``devstack.identity.TrustedSigner``).

A service under test: ``service_settings``, the settings every service takes (endpoints, this
test's topics and database, the identity key), to pass to its Settings with its own extras.

Isolation: each test gets its own ``unique_name``, from which come its topic prefix (and so
its own topics), its consumer group names and its MongoDB database.

Faults: ``private_kafka`` and ``private_mongo`` are a Kafka broker and a SecantusDB of the test's
own (free ports, data in the test's tmp_path; see devstack.private), for tests that kill, stop
and restart them. Skipped, saying why, when the component cannot be installed here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import MongoClient
from pymongo.database import Database

from buybutton.auth import TokenIssuer, generate_signing_key
from devstack.components import MissingTool
from devstack.components.base import InstallFailed
from devstack.containers import container_endpoints, docker_engine_answers
from devstack.endpoints import Endpoints
from devstack.identity import TrustedSigner, new_trusted_signer
from devstack.private import PrivateKafka, PrivateSecantusDB, private_kafka, private_secantusdb
from devstack.stack import Stack

NEEDS_COMPONENTS = frozenset({"endpoints", "private_kafka", "private_mongo"})


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    given = Endpoints.from_env()
    if given is not None:
        yield given
    elif docker_engine_answers():
        with container_endpoints() as from_containers:
            yield from_containers
    else:
        stack = Stack()
        started = stack.up()
        try:
            yield stack.endpoints()
        finally:
            if started:
                stack.down(started)


@pytest.fixture(scope="session")
def signing_key() -> tuple[str, str]:
    """(private PEM, public PEM) of the test identity provider."""
    return generate_signing_key()


@pytest.fixture(scope="session")
def issuer(signing_key: tuple[str, str]) -> TokenIssuer:
    return TokenIssuer(signing_key[0])


@pytest.fixture(scope="session")
def trusted_signer() -> Callable[..., TrustedSigner]:
    """Make a trusted issuer's key pair: ``trusted_signer("tweet-service", kinds=["merchant"])``."""
    return new_trusted_signer


@pytest.fixture
def kafka_bootstrap(endpoints: Endpoints) -> str:
    return endpoints.kafka_bootstrap


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A short name for this test alone: its function name plus a random suffix."""
    base = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:30]
    return f"{base}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def topic_prefix(unique_name: str) -> str:
    return f"{unique_name}."


@pytest.fixture
async def kafka_admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="tests")
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@pytest.fixture
async def registry_topics(kafka_admin: AIOKafkaAdminClient, topic_prefix: str) -> AsyncIterator[str]:
    """Every registry topic (and DLQ) under this test's prefix; deleted afterwards."""
    from buybutton.kafka.provision import provision, registry_specs

    specs = registry_specs(topic_prefix)
    await provision(kafka_admin, specs)
    try:
        yield topic_prefix
    finally:
        await kafka_admin.delete_topics([spec.name for spec in specs])


@pytest.fixture
def service_settings(
    endpoints: Endpoints, registry_topics: str, unique_name: str, signing_key: tuple[str, str]
) -> dict[str, str]:
    """A service's platform-wide settings for this test: ``Settings(**service_settings, ...)``."""
    return {
        "environment": "test",
        "kafka_bootstrap_servers": endpoints.kafka_bootstrap,
        "mongodb_url": endpoints.mongodb_url,
        "topic_prefix": registry_topics,
        "mongodb_database": unique_name.replace("-", "_")[:60],
        "auth_public_key": signing_key[1],
    }


@pytest.fixture
def mongo_client(endpoints: Endpoints) -> Iterator[MongoClient[dict[str, object]]]:
    client: MongoClient[dict[str, object]] = MongoClient(
        endpoints.mongodb_url, serverSelectionTimeoutMS=5000, tz_aware=True
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def mongo_db(
    mongo_client: MongoClient[dict[str, object]], unique_name: str
) -> Iterator[Database[dict[str, object]]]:
    """A database of this test's own, dropped afterwards."""
    name = unique_name.replace("-", "_")[:60]
    try:
        yield mongo_client[name]
    finally:
        mongo_client.drop_database(name)


@pytest.fixture(name="private_kafka")
def private_kafka_fixture(tmp_path: Path) -> Iterator[PrivateKafka]:
    """A Kafka broker of this test's own, to kill and restart (the shared one never is)."""
    try:
        with private_kafka(tmp_path / "private-kafka") as server:
            yield server
    except (MissingTool, InstallFailed) as error:
        pytest.skip(f"a private Kafka cannot be installed here, so none can be restarted: {error}")


@pytest.fixture(name="private_mongo")
def private_mongo_fixture(tmp_path: Path) -> Iterator[PrivateSecantusDB]:
    """A SecantusDB of this test's own, to kill and restart (the shared one never is)."""
    try:
        with private_secantusdb(tmp_path / "private-secantusdb") as server:
            yield server
    except (MissingTool, InstallFailed) as error:
        pytest.skip(f"a private SecantusDB cannot be installed here, so none can be killed: {error}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the real components, so ``-m "not stack"`` leaves them out."""
    for item in items:
        if NEEDS_COMPONENTS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.stack)


# ---- fake Stripe server ------------------------------------------------------------------------
# Fixtures ``fake_stripe_server`` (session: its URL, from FAKE_STRIPE_API_BASE or a process
# started for the session) and ``fake_stripe`` (per test: URL, a secret key of the test's own,
# an admin client). Defined in devstack/fake_stripe_fixtures.py; this block only loads them.
from devstack.fake_stripe_fixtures import fake_stripe, fake_stripe_server  # noqa: E402

__all__ = ["fake_stripe", "fake_stripe_server"]
# ---- end of the fake Stripe block ---------------------------------------------------------------
