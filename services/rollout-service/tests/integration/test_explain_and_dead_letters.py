"""The explanation support sees is the gate's own decision, and poison command records are
dead-lettered while the partition moves on."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.testclient import TestClient
from rollout_support import READ, WRITE, Mint, create, of_rule, rule_events, send_commands

from buybutton.kafka.codec import header
from buybutton.rollout import bucket
from buybutton.topics import ROLLOUT_COMMANDS
from devstack.testing import read_until
from rollout_service.commands import RolloutCommand, SetPercentage
from rollout_service.config import Settings


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
            ROLLOUT_COMMANDS.dlq_named(module_settings.topic_prefix, module_settings.service_name),
            lambda got: len(of_rule(got, rule_name)) >= 3,
        )
    )
    assert [r.value for r in of_rule(dead, rule_name)] == [value for _, value in poison[:3]]
    for record in of_rule(dead, rule_name):
        assert header(record.headers, "dlq.error.class") == "PoisonCommand"
        assert header(record.headers, "dlq.consumer.group") == module_settings.consumer_group_id
