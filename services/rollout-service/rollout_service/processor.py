"""The rules processor: applies admins' commands to the rules table, one at a time, in the
order of ``rollout.commands.v1``.

Consumes: command records (bytes, parsed with RolloutCommand). Produces: the next
RolloutChanged, by writing it into the rules table, whose changelog is ``rollout.rules.v1``;
and an audit entry per command, applied or rejected. Keeps: a command is applied at most once
in effect (a redelivered command finds its own event in force and stops; its event id is
derived from the command id anyway). Knows nothing of Faust: the table is a mapping.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import ValidationError

from buybutton.events import RolloutChanged
from buybutton.events.envelope import utc_now
from buybutton.kafka.codec import describe_validation_error
from rollout_service.audit import AuditTrail
from rollout_service.commands import RolloutCommand
from rollout_service.rules import RuleRejected, apply_command

log = structlog.get_logger(__name__)


class PoisonCommand(ValueError):
    """A command record that no retry can make readable."""


def parse_command(key: bytes | None, value: bytes | None) -> RolloutCommand:
    if value is None:
        raise PoisonCommand("record has no value")
    try:
        command = RolloutCommand.model_validate_json(value)
    except ValidationError as error:
        raise PoisonCommand(describe_validation_error(error)) from None
    if key is not None and key != command.rule_name.encode():
        raise PoisonCommand("record key is not the command's rule name")
    return command


@dataclass
class RulesProcessor:
    rules: MutableMapping[str, Any]  # rule name -> RolloutChanged as a JSON object
    audit: AuditTrail
    producer: str

    def current(self, rule_name: str) -> RolloutChanged | None:
        stored = self.rules.get(rule_name)
        return None if stored is None else RolloutChanged.model_validate(stored)

    async def handle(self, command: RolloutCommand) -> RolloutChanged | None:
        """Apply one command; the event now in force for it, or None when it was rejected."""
        current = self.current(command.rule_name)
        if current is not None and current.causation_id == command.command_id:
            return current
        try:
            event = apply_command(current, command, producer=self.producer, now=utc_now())
        except RuleRejected as error:
            await asyncio.to_thread(self.audit.rejected, command, str(error))
            log.warning("rollout command rejected", command_id=command.command_id, reason=str(error))
            return None
        await asyncio.to_thread(self.audit.applied, command, event)
        self.rules[command.rule_name] = event.model_dump(mode="json")
        log.info("rollout rule changed", event_id=event.event_id, rule_name=command.rule_name)
        return event
