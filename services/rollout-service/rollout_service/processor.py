"""The rules processor: applies admins' commands to the rules table, one at a time, in the
order of ``rollout.commands.v1``.

Consumes: command records (bytes, parsed with RolloutCommand, and their offset in the one
partition of ``rollout.commands.v1``). Produces: the next RolloutChanged, by writing it into the
rules table, whose changelog is ``rollout.rules.v1``; and an audit entry per command, applied or
rejected. Knows nothing of Faust: the table is a mapping of rule name to stored bytes.

Keeps: every command applies once, whatever is redelivered. The stored value is the event's
JSON plus ``command_offset`` (the offset of the command that made it), ``command_issued_at``
and ``recent_command_ids`` (the ids of the rule's last RECENT_COMMANDS applied commands);
readers of the topic ignore the extra fields. A command is skipped, without a trace, when its
id is among the recent ones, or when it sits at or below the stored offset and was issued no
later than the stored command (a crash before the offset commit, a new consumer group
replaying the topic). A command at a lower offset but issued later is new: the commands topic
was recreated and its offsets began again, and deduplicating by offset alone would skip every
new command. A stored value that does not parse is treated as no rule (logged), so that
replacing the rule repairs it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime

import structlog
from pydantic import ValidationError

from buybutton.events import RolloutChanged
from buybutton.events.envelope import utc_now
from buybutton.kafka.codec import describe_validation_error
from rollout_service.audit import AuditTrail
from rollout_service.commands import RolloutCommand
from rollout_service.rules import RuleRejected, apply_command

log = structlog.get_logger(__name__)
RECENT_COMMANDS = 100


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


@dataclass(frozen=True)
class StoredRule:
    event: RolloutChanged
    command_offset: int
    command_issued_at: datetime | None = None
    recent_command_ids: tuple[str, ...] = ()

    def has_handled(self, command: RolloutCommand, offset: int) -> bool:
        if command.command_id in self.recent_command_ids or self.event.causation_id == command.command_id:
            return True
        issued_no_later = self.command_issued_at is None or command.issued_at <= self.command_issued_at
        return offset <= self.command_offset and issued_no_later


def stored_value(
    event: RolloutChanged, command: RolloutCommand, offset: int, previous: StoredRule | None
) -> bytes:
    recent = [*(previous.recent_command_ids if previous else ()), command.command_id][-RECENT_COMMANDS:]
    extra = {
        "command_offset": offset,
        "command_issued_at": command.issued_at.isoformat(),
        "recent_command_ids": recent,
    }
    return json.dumps({**event.model_dump(mode="json"), **extra}).encode()


def parse_stored(value: bytes) -> StoredRule:
    """The rule in a stored value; ValueError when it is not one."""
    body = json.loads(value)
    offset = body.get("command_offset") if isinstance(body, dict) else None
    if not isinstance(offset, int):
        raise ValueError("stored rule names no command offset")
    issued_at = body.get("command_issued_at")
    return StoredRule(
        RolloutChanged.model_validate(body),
        offset,
        datetime.fromisoformat(issued_at) if isinstance(issued_at, str) else None,
        tuple(body.get("recent_command_ids") or ()),
    )


@dataclass
class RulesProcessor:
    rules: MutableMapping[str, bytes]  # rule name -> stored_value(...)
    audit: AuditTrail
    producer: str

    def stored(self, rule_name: str) -> StoredRule | None:
        value = self.rules.get(rule_name)
        if value is None:
            return None
        try:
            return parse_stored(value)
        except (ValueError, ValidationError) as error:
            log.error(
                "stored rule unreadable; treated as absent", rule_name=rule_name, error=type(error).__name__
            )
            return None

    async def handle(self, command: RolloutCommand, offset: int) -> RolloutChanged | None:
        """Apply the command found at ``offset``; the event now in force for its rule, or None
        when it was rejected (or, handled before, changed nothing then)."""
        stored = self.stored(command.rule_name)
        if stored is not None and stored.has_handled(command, offset):
            log.info("rollout command handled before; skipped", command_id=command.command_id, offset=offset)
            return stored.event
        current = stored.event if stored else None
        try:
            event = apply_command(current, command, producer=self.producer, now=utc_now())
        except RuleRejected as error:
            await asyncio.to_thread(self.audit.rejected, command, str(error))
            log.warning("rollout command rejected", command_id=command.command_id, reason=str(error))
            return None
        # numbered in the rule's sequence, so a reader that sees a record twice keeps the newest
        event = event.model_copy(update={"sequence": (current.sequence or 0) + 1 if current else 1})
        await asyncio.to_thread(self.audit.applied, command, event)
        self.rules[command.rule_name] = stored_value(event, command, offset, stored)
        log.info("rollout rule changed", event_id=event.event_id, rule_name=command.rule_name)
        return event
