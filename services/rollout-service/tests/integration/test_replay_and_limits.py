"""Against the real broker: a new consumer group replays every command and nothing is applied
twice (the crash-before-commit case, at its worst); a rule too large for a Kafka record is
refused at once while the processor keeps going; a salt is reshuffled only with the new salt."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from rollout_support import WRITE, Mint, rule_events

from rollout_service.app import create_app
from rollout_service.config import Settings


def test_a_new_consumer_group_replays_every_command_and_nothing_applies_twice(
    module_settings: Settings, admin: Mint, rule_name: str
) -> None:
    rule = f"/v1/rules/{rule_name}"
    with TestClient(create_app(module_settings)) as first:
        assert first.put(rule, headers=admin(WRITE), json={"percentage_bps": 100}).status_code == 200
        for n in range(6):
            switched = first.put(f"{rule}/kill-switch", headers=admin(WRITE), json={"on": n % 2 == 0})
            assert switched.status_code == 200, switched.text
    replaying = module_settings.model_copy(update={"consumer_group": f"{module_settings.consumer_group}-new"})
    with TestClient(create_app(replaying)) as second:
        # commands apply in log order, so this one is applied after every replayed one was handled
        raised = second.put(f"{rule}/percentage", headers=admin(WRITE), json={"percentage_bps": 200})
        assert raised.status_code == 200, raised.text
        assert raised.json()["kill_switch"] is False
    events = rule_events(module_settings, rule_name, 8)
    assert len({e.event_id for e in events}) == len(events) == 8, "no event twice, none new from replays"
    assert [e.kill_switch for e in events] == [False, True, False, True, False, True, False, False]
    assert [e.percentage_bps for e in events] == [100] * 7 + [200]


def test_a_rule_too_large_is_refused_at_once_and_the_processor_keeps_going(
    client: TestClient, admin: Mint, rule_name: str
) -> None:
    names = [f"seller-{n:05d}-" + "x" * 110 for n in range(2_500)]
    full = {
        "percentage_bps": 100,
        "allowed_sellers": names,
        "override_users": [n.replace("seller", "user") for n in names],
    }
    assert client.put(f"/v1/rules/{rule_name}", headers=admin(WRITE), json=full).status_code == 200
    began = time.monotonic()
    overflow = client.post(f"/v1/rules/{rule_name}/sellers", headers=admin(WRITE), json={"add": ["one-more"]})
    assert overflow.status_code == 409 and "more than 2500" in overflow.json()["detail"]
    assert time.monotonic() - began < 5, "a refusal is answered as soon as it is audited"
    killed = client.put(f"/v1/rules/{rule_name}/kill-switch", headers=admin(WRITE), json={"on": True})
    assert killed.status_code == 200 and client.get("/healthz").json()["status"] == "ok"


def test_a_salt_is_reshuffled_only_with_the_new_salt(client: TestClient, admin: Mint, rule_name: str) -> None:
    rule = f"/v1/rules/{rule_name}"
    salt = client.put(rule, headers=admin(WRITE), json={"percentage_bps": 100}).json()["salt"]
    assert (
        client.put(rule, headers=admin(WRITE), json={"percentage_bps": 100, "reshuffle": True}).status_code
        == 422
    )
    moved = client.put(
        rule, headers=admin(WRITE), json={"percentage_bps": 100, "salt": "pepper-2", "reshuffle": True}
    )
    assert moved.status_code == 200 and moved.json()["salt"] == "pepper-2" != salt
