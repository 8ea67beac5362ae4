"""Fixtures for rollout-service tests (tokens from the shared ``issuer`` fixture): per test module, its own
registry topics, database and consumer group with one running service shared by the module's
tests (Faust's start-up is the slow part; tests stay apart by using their own rule names)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient
from rollout_support import AUDIENCE, Mint

from buybutton.auth import TokenIssuer
from devstack.endpoints import Endpoints
from devstack.topics import registry_topics_under
from rollout_service.app import create_app
from rollout_service.config import Settings


@pytest.fixture(scope="session")
def admin(issuer: TokenIssuer) -> Mint:
    """Authorization headers for an admin (or, with kind=, another caller) with these scopes."""

    def mint(*scopes: str, subject: str = "ada-admin", kind: Any = "admin") -> dict[str, str]:
        token = issuer.mint(kind, subject, audience=AUDIENCE, scopes=scopes)
        return {"Authorization": f"Bearer {token}"}

    return mint


@pytest.fixture(scope="module")
def module_settings(endpoints: Endpoints, signing_key: tuple[str, str]) -> Iterator[Settings]:
    """Settings on this module's own topics, database and consumer group."""
    name = f"rollout-{uuid.uuid4().hex[:10]}"
    settings = Settings(
        environment="test",
        kafka_bootstrap_servers=endpoints.kafka_bootstrap,
        mongodb_url=endpoints.mongodb_url,
        topic_prefix=f"{name}.",
        mongodb_database=name.replace("-", "_"),
        consumer_group=name,
        auth_public_key=signing_key[1],
        log_json=False,
    )
    try:
        with registry_topics_under(settings.kafka_bootstrap_servers, settings.topic_prefix):
            yield settings
    finally:
        with MongoClient(settings.mongodb_url) as client:
            client.drop_database(settings.database_name)


@pytest.fixture(scope="module")
def client(module_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(module_settings)) as test_client:
        yield test_client


@pytest.fixture
def stream_settings(endpoints: Endpoints, unique_name: str, signing_key: tuple[str, str]) -> Settings:
    """Settings to build the rules stream with, for tests that never start it (test_context)."""
    return Settings(
        environment="test",
        kafka_bootstrap_servers=endpoints.kafka_bootstrap,
        mongodb_url=endpoints.mongodb_url,
        auth_public_key=signing_key[1],
        topic_prefix=f"{unique_name}.",
    )


@pytest.fixture
def rule_name(unique_name: str) -> str:
    """A rule of this test's own, so tests can share one running service."""
    return unique_name
