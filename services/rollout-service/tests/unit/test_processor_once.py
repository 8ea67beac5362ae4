"""Every command applies once, whatever is redelivered: a command redelivered after later ones
(a crash before the offset commit, a new consumer group replaying the topic) changes nothing and
publishes nothing; an unreadable stored rule reads as no rule, so a replace repairs it. And the
producer that writes the rules is idempotent with acks=all."""

from __future__ import annotations

import shutil
from typing import Any

from pymongo.database import Database
from rollout_support import ACME_REPLACE

from buybutton.events import RolloutChanged
from rollout_service.audit import AuditTrail
from rollout_service.commands import RolloutCommand, SetKillSwitch, SetPercentage
from rollout_service.config import Settings
from rollout_service.processor import RulesProcessor, parse_stored
from rollout_service.stream_app import build_rules_stream

RULE = "buy-button"


def command(change: Any) -> RolloutCommand:
    return RolloutCommand(rule_name=RULE, issued_by="ada-admin", change=change)


async def test_commands_redelivered_after_later_ones_change_nothing(
    mongo_db: Database[dict[str, Any]],
) -> None:
    table: dict[str, bytes] = {}
    processor = RulesProcessor(table, AuditTrail(mongo_db), producer="rollout-service")
    sent = [command(ACME_REPLACE)] + [command(SetKillSwitch(on=n % 2 == 0)) for n in range(6)]
    for offset, each in enumerate(sent):
        assert await processor.handle(each, offset) is not None
    in_force = parse_stored(table[RULE])
    audit_before = list(mongo_db["rule_changes"].find({}).sort("_id"))
    for offset, each in enumerate(sent):  # the whole log again, as a new consumer group reads it
        await processor.handle(each, offset)
    assert parse_stored(table[RULE]) == in_force
    assert in_force.event.kill_switch is False and in_force.command_offset == 6
    assert list(mongo_db["rule_changes"].find({}).sort("_id")) == audit_before, "the audit is not rewritten"
    raised = await processor.handle(command(SetPercentage(percentage_bps=2_000)), 7)
    assert (
        raised is not None
        and raised.percentage_bps == 2_000
        and parse_stored(table[RULE]).command_offset == 7
    )


async def test_an_unreadable_stored_rule_reads_as_none_and_a_replace_repairs_it(
    mongo_db: Database[dict[str, Any]],
) -> None:
    table: dict[str, bytes] = {RULE: b"\xffnot json"}
    processor = RulesProcessor(table, AuditTrail(mongo_db), producer="rollout-service")
    assert processor.stored(RULE) is None
    assert (
        await processor.handle(command(SetPercentage(percentage_bps=2_000)), 3) is None
    )  # no rule to change
    repaired = await processor.handle(command(ACME_REPLACE), 4)
    assert isinstance(repaired, RolloutChanged) and parse_stored(table[RULE]).event == repaired


async def test_the_faust_producer_is_idempotent_with_acks_all(
    stream_settings: Settings, mongo_db: Database[dict[str, Any]]
) -> None:
    stream = build_rules_stream(stream_settings, AuditTrail(mongo_db))
    try:
        producer = stream.app.producer._new_producer()  # what Faust's producer service starts
        assert producer._txn_manager is not None, "idempotence is on"
        assert producer._sender._acks == -1, "acks=all"
    finally:
        shutil.rmtree(str(stream.app.conf.datadir))


async def test_after_the_commands_topic_is_recreated_new_commands_apply_once(
    mongo_db: Database[dict[str, Any]],
) -> None:
    """Offsets begin again on a recreated topic: new commands at low offsets are applied (by
    offset alone every one would be skipped), and each of them still applies only once."""
    table: dict[str, bytes] = {}
    processor = RulesProcessor(table, AuditTrail(mongo_db), producer="rollout-service")
    old_log = [command(ACME_REPLACE)] + [command(SetKillSwitch(on=n % 2 == 0)) for n in range(5)]
    for offset, each in enumerate(old_log):
        await processor.handle(each, offset)
    assert parse_stored(table[RULE]).command_offset == 5

    new_log = [command(SetPercentage(percentage_bps=bps)) for bps in (1_500, 2_500)]
    applied = [await processor.handle(each, offset) for offset, each in enumerate(new_log)]
    assert [a.percentage_bps if a else None for a in applied] == [1_500, 2_500]
    in_force = parse_stored(table[RULE])
    assert in_force.event.percentage_bps == 2_500 and in_force.event.sequence == len(old_log) + 2

    for offset, each in enumerate(new_log):  # the new log redelivered: nothing applies twice
        await processor.handle(each, offset)
    for offset, each in enumerate(old_log):  # nor does the old log, replayed by a new group
        await processor.handle(each, offset + 100)
    assert parse_stored(table[RULE]) == in_force
