"""rollout-service over HTTP against the real broker and FerretDB, one running service for the
module: who may call what, every change as a RolloutChanged (with headers) on the compacted
topic and in the audit trail, order kept, bad input refused with nothing sent, and the
explanation support sees."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from fastapi.testclient import TestClient
from pymongo import MongoClient

from buybutton.auth import TokenIssuer, generate_signing_key
from buybutton.events import RolloutChanged
from buybutton.kafka.codec import decode, header
from buybutton.kafka.producer import create_producer
from buybutton.rollout import bucket
from buybutton.topics import ROLLOUT, ROLLOUT_COMMANDS
from devstack.testing import read_until
from rollout_service.commands import RolloutCommand, SetPercentage
from rollout_service.config import Settings

AUDIENCE = "rollout-service"
WRITE, READ = "rollout:write", "rollout:read"
Mint = Callable[..., dict[str, str]]
RULE = "/v1/rules/buy-button"
ENDPOINTS = [
    ("GET", RULE, READ),
    ("PUT", RULE, WRITE),
    ("PUT", f"{RULE}/percentage", WRITE),
    ("PUT", f"{RULE}/countries", WRITE),
    ("PUT", f"{RULE}/kill-switch", WRITE),
    ("POST", f"{RULE}/sellers", WRITE),
    ("POST", f"{RULE}/overrides", WRITE),
    ("GET", f"{RULE}/changes", READ),
    ("GET", "/v1/explain?user_id=u-1&seller_id=s-1&country=US", READ),
]
ACME = {"countries": ["US"], "percentage_bps": 1_000, "allowed_sellers": ["acme-store"], "salt": "pepper"}


def rule_events(settings: Settings, rule_name: str, count: int) -> list[RolloutChanged]:
    """The rule's first ``count`` RolloutChanged records, read from the topic (30 s at most)."""
    records = asyncio.run(
        read_until(
            settings.kafka_bootstrap_servers,
            ROLLOUT.named(settings.topic_prefix),
            lambda got: len(_of_rule(got, rule_name)) >= count,
        )
    )
    return [_decoded(record) for record in _of_rule(records, rule_name)]


def _of_rule(records: list[ConsumerRecord[bytes, bytes]], rule_name: str) -> list[Any]:
    return [r for r in records if r.key == rule_name.encode()]


def _decoded(record: ConsumerRecord[bytes, bytes]) -> RolloutChanged:
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


@pytest.mark.parametrize(("method", "path", "_scope"), ENDPOINTS)
def test_every_endpoint_refuses_missing_forged_expired_or_misaddressed_tokens(
    client: TestClient, issuer: TokenIssuer, method: str, path: str, _scope: str
) -> None:
    stranger = TokenIssuer(generate_signing_key()[0])
    tokens = {
        "missing": None,
        "garbage": "not-a-token",
        "forged": stranger.mint("admin", "ada-admin", audience=AUDIENCE, scopes=[READ, WRITE]),
        "expired": issuer.mint(
            "admin",
            "ada-admin",
            audience=AUDIENCE,
            scopes=[READ, WRITE],
            now=datetime.now(UTC) - timedelta(hours=1),
        ),
        "other audience": issuer.mint("admin", "ada-admin", audience="tweet-service", scopes=[READ, WRITE]),
    }
    for label, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.request(method, path, headers=headers, json={"percentage_bps": 5})
        assert response.status_code == 401, (label, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_every_endpoint_forbids_other_kinds_and_missing_scopes(
    client: TestClient, admin: Mint, method: str, path: str, scope: str
) -> None:
    other_scope = READ if scope == WRITE else WRITE
    callers = {
        "buyer": admin(READ, WRITE, kind="buyer"),
        "merchant": admin(READ, WRITE, kind="merchant"),
        "service": admin(READ, WRITE, kind="service", subject="tweet-service"),
        "admin without scopes": admin(),
        f"admin with {other_scope} only": admin(other_scope),
    }
    for label, headers in callers.items():
        response = client.request(method, path, headers=headers, json={"percentage_bps": 5})
        assert response.status_code == 403, (label, response.text)


def test_health_check_is_public(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"service": "rollout-service", "status": "ok"}


def test_a_new_rule_is_published_as_rolloutchanged_with_headers_and_audited(
    client: TestClient, admin: Mint, module_settings: Settings, rule_name: str
) -> None:
    answered = create(client, admin, rule_name, override_users=["grace-employee"])

    [event] = rule_events(module_settings, rule_name, 1)
    assert event.rule_name == rule_name and event.changed_by == "ada-admin"
    assert event.countries == ["US"] and event.percentage_bps == 1_000 and event.salt == "pepper"
    assert event.allowed_sellers == ["acme-store"] and event.override_users == ["grace-employee"]
    assert event.producer == "rollout-service" and not event.kill_switch
    assert answered["version"] == event.event_id and answered["command_id"] == event.causation_id
    assert client.get(f"/v1/rules/{rule_name}", headers=admin(READ)).json() == answered
    [entry] = audit_entries(module_settings, rule_name)
    assert entry["_id"] == event.causation_id and entry["event_id"] == event.event_id
    assert entry["changed_by"] == "ada-admin" and entry["action"] == "replace"
    assert entry["outcome"] == "applied" and entry["change"]["percentage_bps"] == 1_000
    assert abs(entry["recorded_at"] - datetime.now(UTC)) < timedelta(minutes=1)


def test_partial_changes_build_on_the_rule_in_force(
    client: TestClient, admin: Mint, module_settings: Settings, rule_name: str
) -> None:
    create(client, admin, rule_name)
    changes = [
        ("PUT", "percentage", {"percentage_bps": 2_500}),
        ("POST", "sellers", {"add": ["bolt-books", "corner-cafe"]}),
        ("POST", "sellers", {"remove": ["acme-store"]}),
        ("POST", "overrides", {"add": ["grace-employee"]}),
        ("PUT", "countries", {"countries": ["US", "CA"]}),
        ("PUT", "kill-switch", {"on": True}),
    ]
    for method, path, body in changes:
        response = client.request(method, f"/v1/rules/{rule_name}/{path}", headers=admin(WRITE), json=body)
        assert response.status_code == 200, (path, response.text)

    rule = client.get(f"/v1/rules/{rule_name}", headers=admin(READ)).json()
    assert rule["percentage_bps"] == 2_500 and rule["kill_switch"] is True and rule["salt"] == "pepper"
    assert rule["allowed_sellers"] == ["bolt-books", "corner-cafe"] and rule["countries"] == ["CA", "US"]
    assert rule["override_users"] == ["grace-employee"]
    events = rule_events(module_settings, rule_name, 7)
    assert events[-1].event_id == rule["version"]
    actions = [e["action"] for e in audit_entries(module_settings, rule_name)]
    assert actions == [
        "replace",
        "set_percentage",
        "change_sellers",
        "change_sellers",
        "change_overrides",
        "set_countries",
        "set_kill_switch",
    ]
    listed = client.get(f"/v1/rules/{rule_name}/changes", headers=admin(READ)).json()
    assert [e["event_id"] for e in listed] == [e.event_id for e in reversed(events)]


def test_twenty_quick_changes_are_applied_in_the_order_sent(
    client: TestClient, admin: Mint, module_settings: Settings, rule_name: str
) -> None:
    create(client, admin, rule_name)
    commands = [
        RolloutCommand(
            rule_name=rule_name, issued_by="ada-admin", change=SetPercentage(percentage_bps=n * 100)
        )
        for n in range(1, 21)
    ]
    asyncio.run(send_commands(module_settings, [c.to_record() for c in commands]))  # no wait in between

    events = rule_events(module_settings, rule_name, 21)
    assert [e.percentage_bps for e in events[1:]] == [n * 100 for n in range(1, 21)]
    assert [e.causation_id for e in events[1:]] == [c.command_id for c in commands]
    assert client.get(f"/v1/rules/{rule_name}", headers=admin(READ)).json()["percentage_bps"] == 2_000


BAD_INPUT = [
    ("PUT", "", {**ACME, "percentage_bps": 10_001}, "percentage_bps"),
    ("PUT", "", {**ACME, "percentage_bps": -1}, "percentage_bps"),
    ("PUT", "", {**ACME, "percentage_bps": "500"}, "percentage_bps"),
    ("PUT", "", {**ACME, "countries": ["us"]}, "countries"),
    ("PUT", "", {**ACME, "is_admin": True}, "is_admin"),
    ("PUT", "", {**ACME, "allowed_sellers": ["s" * 10_240]}, "allowed_sellers"),
    ("PUT", "/percentage", {"percentage_bps": 10_001}, "percentage_bps"),
    ("PUT", "/percentage", {"percentage_bps": -5}, "percentage_bps"),
    ("PUT", "/percentage", {"percentage_bps": 5, "extra": 1}, "extra"),
    ("PUT", "/countries", {"countries": ["us"]}, "countries"),
    ("PUT", "/countries", {"countries": ["USA"]}, "countries"),
    ("PUT", "/kill-switch", {"on": "yes"}, "on"),
    ("PUT", "/kill-switch", {}, "on"),
    ("POST", "/sellers", {"add": ["x" * 10_240]}, "add"),
    ("POST", "/sellers", {"add": ["bad seller!"]}, "add"),
    ("POST", "/sellers", {}, "body"),
    ("POST", "/sellers", {"add": ["acme-store"], "remove": ["acme-store"]}, "body"),
    ("POST", "/overrides", {"remove": ["o" * 10_240]}, "remove"),
    ("POST", "/overrides", {"add": ["grace"], "who": "me"}, "who"),
]


def test_bad_input_is_refused_field_by_field_with_nothing_sent_or_audited(
    client: TestClient, admin: Mint, module_settings: Settings, rule_name: str
) -> None:
    create(client, admin, rule_name)
    for method, path, body, field in BAD_INPUT:
        response = client.request(method, f"/v1/rules/{rule_name}{path}", headers=admin(WRITE), json=body)
        assert response.status_code == 422, (path, body, response.text)
        problems = response.json()["detail"]
        assert any(field in problem["loc"] for problem in problems), (path, problems)
        assert "x" * 100 not in response.text and "s" * 100 not in response.text  # input never echoed
    marker = client.put(f"/v1/rules/{rule_name}/percentage", headers=admin(WRITE), json={"percentage_bps": 7})
    assert marker.status_code == 200

    commands = asyncio.run(
        read_until(
            module_settings.kafka_bootstrap_servers,
            ROLLOUT_COMMANDS.named(module_settings.topic_prefix),
            lambda got: any(r.value and marker.json()["command_id"].encode() in r.value for r in got),
        )
    )
    assert len(_of_rule(commands, rule_name)) == 2  # the creation and the marker, nothing else
    assert [e.percentage_bps for e in rule_events(module_settings, rule_name, 2)] == [1_000, 7]
    assert [e["action"] for e in audit_entries(module_settings, rule_name)] == ["replace", "set_percentage"]


def test_partial_change_of_an_unknown_rule_is_404_and_the_salt_changes_only_on_purpose(
    client: TestClient, admin: Mint, rule_name: str
) -> None:
    unknown = client.put(
        f"/v1/rules/{rule_name}/percentage", headers=admin(WRITE), json={"percentage_bps": 5}
    )
    assert unknown.status_code == 404
    assert client.get(f"/v1/rules/{rule_name}", headers=admin(READ)).status_code == 404
    drawn = client.put(f"/v1/rules/{rule_name}", headers=admin(WRITE), json={"percentage_bps": 100}).json()
    assert drawn["countries"] == ["US"] and len(drawn["salt"]) == 16

    kept = client.put(f"/v1/rules/{rule_name}", headers=admin(WRITE), json={"percentage_bps": 200}).json()
    assert kept["salt"] == drawn["salt"]
    refused = client.put(f"/v1/rules/{rule_name}", headers=admin(WRITE), json={**ACME, "salt": "other"})
    assert refused.status_code == 409 and "reshuffle" in refused.json()["detail"]
    reshuffled = client.put(
        f"/v1/rules/{rule_name}", headers=admin(WRITE), json={**ACME, "salt": "other", "reshuffle": True}
    )
    assert reshuffled.status_code == 200 and reshuffled.json()["salt"] == "other"


def users(salt: str, *, below: int) -> tuple[str, str]:
    """A user whose bucket is under ``below`` and one whose bucket is not."""
    ids = [f"user-{n}" for n in range(2_000)]
    return (
        next(u for u in ids if bucket(salt, u) < below),
        next(u for u in ids if bucket(salt, u) >= below),
    )


def test_explain_says_why_exactly_as_the_gate_decides(
    client: TestClient, admin: Mint, rule_name: str
) -> None:
    create(client, admin, rule_name, override_users=["grace-employee"])
    lucky, unlucky = users("pepper", below=1_000)

    def explain(user: str, seller: str = "acme-store", country: str | None = "US") -> dict[str, Any]:
        query = f"user_id={user}&seller_id={seller}&rule_name={rule_name}" + (
            f"&country={country}" if country else ""
        )
        response = client.get(f"/v1/explain?{query}", headers=admin(READ))
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    below = explain(lucky)
    assert below["shown"] and below["bucket"] == bucket("pepper", lucky) and below["bucket"] < 1_000
    assert below["reason"] == f"bucket {below['bucket']} < 1000" and below["rules_version"]
    above = explain(unlucky)
    assert not above["shown"] and above["reason"] == f"bucket {above['bucket']} >= 1000"
    assert explain(lucky, seller="bolt-books")["reason"] == "seller is not allow-listed"
    assert explain(lucky, country="FR")["reason"] == "country FR is not in the rollout"
    assert explain(lucky, country=None)["reason"] == "country unknown is not in the rollout"
    assert explain("grace-employee", country="FR")["reason"] == "user is on the override list"
    kill = client.put(f"/v1/rules/{rule_name}/kill-switch", headers=admin(WRITE), json={"on": True})
    assert kill.status_code == 200
    assert explain("grace-employee") == {
        **explain("grace-employee"),
        "shown": False,
        "reason": "kill switch is on",
    }
    assert explain(lucky, seller="x")["reason"] == "kill switch is on"
    unknown = client.get(
        "/v1/explain?user_id=u&seller_id=s&rule_name=no-such-gate", headers=admin(READ)
    ).json()
    assert unknown["shown"] is False and unknown["bucket"] is None and "fail closed" in unknown["reason"]
    assert client.get("/v1/explain?user_id=u&seller_id=s&country=us", headers=admin(READ)).status_code == 422


def test_poison_commands_are_dead_lettered_and_the_partition_moves_on(
    client: TestClient, admin: Mint, module_settings: Settings, rule_name: str
) -> None:
    create(client, admin, rule_name)
    valid = RolloutCommand(
        rule_name=rule_name, issued_by="ada-admin", change=SetPercentage(percentage_bps=42)
    )
    wrong_key = valid.model_copy(update={"rule_name": "another-rule"}).to_record()[1]
    poison = [
        (rule_name.encode(), b"not json at all"),
        (rule_name.encode(), b'{"rule_name": "%s", "change": {"action": "explode"}}' % rule_name.encode()),
        (rule_name.encode(), wrong_key),
        valid.to_record(),
    ]
    asyncio.run(send_commands(module_settings, poison))

    [_, after] = rule_events(module_settings, rule_name, 2)
    assert after.percentage_bps == 42 and after.causation_id == valid.command_id
    dead = asyncio.run(
        read_until(
            module_settings.kafka_bootstrap_servers,
            ROLLOUT_COMMANDS.dlq_named(module_settings.topic_prefix),
            lambda got: len(_of_rule(got, rule_name)) >= 3,
        )
    )
    assert [r.value for r in _of_rule(dead, rule_name)] == [value for _, value in poison[:3]]
    for record in _of_rule(dead, rule_name):
        assert header(record.headers, "dlq.error.class") == "PoisonCommand"
        assert header(record.headers, "dlq.consumer.group") == module_settings.consumer_group_id


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
