"""Submitting a change: the API sends the command to ``rollout.commands.v1`` and waits, with a
deadline, for the RolloutChanged it causes to reach this instance's replica (whichever instance
applied it). Produces: command records (acks=all, idempotent producer). Answers what happened:
the new rule, a rejection found in the audit trail, or, past the deadline, "accepted".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from buybutton.events import RolloutChanged
from rollout_service.audit import AuditTrail
from rollout_service.commands import RolloutCommand
from rollout_service.replica import RulesWatch


@dataclass(frozen=True)
class Outcome:
    command_id: str
    event: RolloutChanged | None = None
    rejected: str | None = None


@dataclass
class RuleChanges:
    producer: AIOKafkaProducer
    replica: RulesWatch
    audit: AuditTrail
    topic: str
    timeout_s: float

    async def submit(self, command: RolloutCommand) -> Outcome:
        result = self.replica.expect(command.command_id)  # before sending: the answer may be quick
        try:
            key, value = command.to_record()
            await self.producer.send_and_wait(self.topic, key=key, value=value)
            return Outcome(command.command_id, event=await asyncio.wait_for(result, self.timeout_s))
        except TimeoutError:
            entry = await asyncio.to_thread(self.audit.entry, command.command_id)
            reason = entry.get("reason") if entry and entry.get("outcome") == "rejected" else None
            return Outcome(command.command_id, rejected=reason)
        finally:
            self.replica.forget(command.command_id)
