"""The command agent under Faust's test_context(): records in, the rules table and the audit
trail (real MongoDB) out, in order; a replayed command changes nothing; a refused one is
audited as rejected and leaves the table alone."""

from __future__ import annotations

import shutil
from typing import Any

from pymongo.database import Database
from rollout_support import ACME_REPLACE

from buybutton.events import RolloutChanged
from rollout_service.audit import AuditTrail
from rollout_service.commands import RolloutCommand, SetKillSwitch, SetPercentage
from rollout_service.config import Settings
from rollout_service.stream_app import build_rules_stream


async def test_the_agent_applies_commands_in_order_once_each(
    stream_settings: Settings, mongo_db: Database[dict[str, Any]]
) -> None:
    stream = build_rules_stream(stream_settings, AuditTrail(mongo_db))
    created, raised, stray = (
        RolloutCommand(rule_name="buy-button", issued_by="ada-admin", change=change)
        for change in (ACME_REPLACE, SetPercentage(percentage_bps=2_000), SetKillSwitch(on=True))
    )
    stray = stray.model_copy(update={"rule_name": "no-such-gate"})
    try:
        async with stream.agent.test_context() as agent:
            outcomes = []
            for sent in (created, raised, raised, stray):
                key, value = sent.to_record()
                await agent.put(value, key=key)
                outcomes.append(agent.results[len(outcomes)])
    finally:
        shutil.rmtree(str(stream.app.conf.datadir))  # the app itself never started: nothing else to stop

    assert outcomes == ["applied", "applied", "applied", "rejected"]
    rule = RolloutChanged.model_validate_json(stream.table["buy-button"])
    assert rule.percentage_bps == 2_000 and rule.causation_id == raised.command_id
    assert "no-such-gate" not in stream.table
    audit = {entry["_id"]: entry for entry in mongo_db["rule_changes"].find()}
    assert audit.keys() == {created.command_id, raised.command_id, stray.command_id}
    assert audit[raised.command_id]["event_id"] == rule.event_id
    assert (
        audit[stray.command_id]["outcome"] == "rejected"
        and "no such rule" in audit[stray.command_id]["reason"]
    )
