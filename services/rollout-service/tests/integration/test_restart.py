"""The rules table is the compacted topic: a new service instance on the same topics recovers
it from rollout.rules.v1, and its next partial change builds on the recovered rule."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi.testclient import TestClient

from buybutton.events import RolloutChanged
from buybutton.kafka.codec import decode
from buybutton.topics import ROLLOUT
from devstack.testing import read_until, wait_for
from rollout_service.app import create_app
from rollout_service.config import Settings

WRITE, READ = "rollout:write", "rollout:read"
Mint = Callable[..., dict[str, str]]


def test_a_restarted_service_recovers_the_rules_and_builds_on_them(
    module_settings: Settings, admin: Mint, rule_name: str
) -> None:
    rule = f"/v1/rules/{rule_name}"
    with TestClient(create_app(module_settings)) as first:
        created = first.put(
            rule, headers=admin(WRITE), json={"percentage_bps": 100, "allowed_sellers": ["acme-store"]}
        )
        assert created.status_code == 200
        raised = first.put(f"{rule}/percentage", headers=admin(WRITE), json={"percentage_bps": 250})
        assert raised.status_code == 200

    with TestClient(create_app(module_settings)) as second:
        table = second.app.state.rules_stream.table  # type: ignore[attr-defined]
        asyncio.run(wait_for(lambda: rule_name in table, timeout_s=30, what="the table's recovery"))
        recovered = table[rule_name]
        assert RolloutChanged.model_validate_json(recovered).event_id == raised.json()["version"]
        added = second.post(f"{rule}/sellers", headers=admin(WRITE), json={"add": ["bolt-books"]})
        assert added.status_code == 200, added.text
        after = added.json()
        assert after["percentage_bps"] == 250 and after["salt"] == created.json()["salt"]
        assert after["allowed_sellers"] == ["acme-store", "bolt-books"]
        assert second.get(rule, headers=admin(READ)).json() == after

    records = asyncio.run(
        read_until(
            module_settings.kafka_bootstrap_servers,
            ROLLOUT.named(module_settings.topic_prefix),
            lambda got: len(got) >= 3,
        )
    )
    events = [decode(r.value, r.headers) for r in records]
    assert [e.percentage_bps for e in events if isinstance(e, RolloutChanged)] == [100, 250, 250]
