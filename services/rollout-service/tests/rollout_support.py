"""Test data and helpers for rollout-service tests: the Acme rule, admin scopes, and readers of
what a change left behind (events on the rules topic, audit entries), and a writer of raw
command records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka.structs import ConsumerRecord
from fastapi.testclient import TestClient
from pymongo import MongoClient

from buybutton.events import RolloutChanged
from buybutton.kafka.codec import decode, header
from buybutton.kafka.producer import create_producer
from buybutton.topics import ROLLOUT, ROLLOUT_COMMANDS
from devstack.testing import read_until
from rollout_service.commands import ReplaceRule
from rollout_service.config import Settings

AUDIENCE = "rollout-service"
WRITE, READ = "rollout:write", "rollout:read"
Mint = Callable[..., dict[str, str]]

ACME = {"countries": ["US"], "percentage_bps": 1_000, "allowed_sellers": ["acme-store"], "salt": "pepper"}
# the same rule as the command the API sends for it (salt drawn)
ACME_REPLACE = ReplaceRule(
    countries=["US"],
    percentage_bps=1_000,
    allowed_sellers=["acme-store"],
    override_users=[],
    kill_switch=False,
)


def rule_events(settings: Settings, rule_name: str, count: int) -> list[RolloutChanged]:
    """The rule's first ``count`` RolloutChanged records, read from the topic (30 s at most)."""
    records = asyncio.run(
        read_until(
            settings.kafka_bootstrap_servers,
            ROLLOUT.named(settings.topic_prefix),
            lambda got: len(of_rule(got, rule_name)) >= count,
        )
    )
    return [decoded(record) for record in of_rule(records, rule_name)]


def of_rule(records: list[ConsumerRecord[bytes, bytes]], rule_name: str) -> list[Any]:
    return [r for r in records if r.key == rule_name.encode()]


def decoded(record: ConsumerRecord[bytes, bytes]) -> RolloutChanged:
    assert header(record.headers, "event_type") == "RolloutChanged"
    assert header(record.headers, "schema_version") == "1"
    event = decode(record.value, record.headers)
    assert isinstance(event, RolloutChanged)
    return event


def audit_entries(settings: Settings, rule_name: str) -> list[dict[str, Any]]:
    with MongoClient(settings.mongodb_url, tz_aware=True) as mongo:
        found = mongo[settings.database_name]["rule_changes"].find({"rule_name": rule_name})
        return sorted(found, key=lambda entry: entry["recorded_at"])


def create(client: TestClient, admin: Mint, rule_name: str, **fields: Any) -> dict[str, Any]:
    response = client.put(f"/v1/rules/{rule_name}", headers=admin(WRITE), json={**ACME, **fields})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def send_commands(settings: Settings, records: list[tuple[bytes, bytes]]) -> None:
    """Write command records as the API does, one right after the other."""
    producer = create_producer(settings.kafka_bootstrap_servers, client_id="rollout-tests")
    await producer.start()
    try:
        topic = ROLLOUT_COMMANDS.named(settings.topic_prefix)
        sent = [await producer.send(topic, key=key, value=value) for key, value in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
