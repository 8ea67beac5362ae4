"""Submitting a change: the API sends the command to ``rollout.commands.v1`` and waits, with a
deadline, for the RolloutChanged it causes to reach this instance's replica (whichever instance
applied it), or for the audit trail to record its rejection (a refused command publishes
nothing), looking every ``poll_s``. Produces: command records (acks=all, idempotent producer).
Answers what happened: the new rule, the rejection, or, past the deadline, "accepted".
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
    poll_s: float = 0.1

    async def submit(self, command: RolloutCommand) -> Outcome:
        result = self.replica.expect(command.command_id)  # before sending: the answer may be quick
        try:
            key, value = command.to_record()
            await self.producer.send_and_wait(self.topic, key=key, value=value)
            deadline = asyncio.get_running_loop().time() + self.timeout_s
            while True:
                try:
                    return Outcome(
                        command.command_id, event=await asyncio.wait_for(asyncio.shield(result), self.poll_s)
                    )
                except TimeoutError:
                    rejected = await asyncio.to_thread(self._rejection, command.command_id)
                    if rejected is not None or asyncio.get_running_loop().time() > deadline:
                        return Outcome(command.command_id, rejected=rejected)
        finally:
            self.replica.forget(command.command_id)

    def _rejection(self, command_id: str) -> str | None:
        entry = self.audit.entry(command_id)
        return str(entry.get("reason")) if entry and entry.get("outcome") == "rejected" else None
