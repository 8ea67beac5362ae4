"""The rules table is the compacted topic: a new service instance on the same topics recovers
it from rollout.rules.v1, and its next partial change builds on the recovered rule; a record on
the topic that is no rule stalls nothing. (Here, unlike the modules with a shared running
service, each instance runs alone, so no rebalance stands between a change and its answer.)"""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient
from rollout_support import READ, WRITE, Mint, of_rule

from buybutton.events import RolloutChanged
from buybutton.kafka.codec import decode
from buybutton.kafka.producer import create_producer
from buybutton.topics import ROLLOUT
from devstack.testing import read_until, wait_for
from rollout_service.app import create_app
from rollout_service.config import Settings


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
            lambda got: len(of_rule(got, rule_name)) >= 3,
        )
    )
    events = [decode(r.value, r.headers) for r in of_rule(records, rule_name)]
    assert [e.percentage_bps for e in events if isinstance(e, RolloutChanged)] == [100, 250, 250]


def test_an_unreadable_record_on_the_rules_topic_stalls_nothing(
    module_settings: Settings, admin: Mint, rule_name: str
) -> None:
    asyncio.run(write_record(module_settings, rule_name.encode(), b"\xffnot json"))
    with TestClient(create_app(module_settings)) as restarted:  # the table recovers past it
        assert restarted.get("/healthz").json()["status"] == "ok"
        repaired = restarted.put(f"/v1/rules/{rule_name}", headers=admin(WRITE), json={"percentage_bps": 300})
        assert repaired.status_code == 200, repaired.text
        assert restarted.get(f"/v1/rules/{rule_name}", headers=admin(READ)).json()["percentage_bps"] == 300


async def write_record(settings: Settings, key: bytes, value: bytes) -> None:
    producer = create_producer(settings.kafka_bootstrap_servers, client_id="rollout-tests")
    await producer.start()
    try:
        await producer.send_and_wait(ROLLOUT.named(settings.topic_prefix), key=key, value=value)
    finally:
        await producer.stop()
