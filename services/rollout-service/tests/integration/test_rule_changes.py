"""Admins' changes against the real broker and MongoDB, one running service for the module:
every change a RolloutChanged (with headers) on the compacted topic and in the audit trail,
partial changes built on the rule in force, order kept, bad input refused with nothing sent or
audited, unknown rules and salt changes refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from rollout_support import (
    ACME,
    READ,
    WRITE,
    Mint,
    audit_entries,
    create,
    of_rule,
    rule_events,
    send_commands,
)

from buybutton.topics import ROLLOUT_COMMANDS
from devstack.testing import read_until
from rollout_service.commands import RolloutCommand, SetPercentage
from rollout_service.config import Settings


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
    assert len(of_rule(commands, rule_name)) == 2  # the creation and the marker, nothing else
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
