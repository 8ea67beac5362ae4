"""The audit trail of rule changes, in the service's own database.

Owns (MongoDB): ``rule_changes`` {_id: command_id, rule_name, action, change, changed_by,
issued_at, recorded_at, outcome: applied | rejected, event_id (the RolloutChanged written),
reason (why rejected)}. Written by the rules processor when it applies or refuses a command,
keyed by command id, so a redelivered command rewrites its own entry instead of adding one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pymongo import DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from buybutton.events import RolloutChanged
from rollout_service.commands import RolloutCommand

Outcome = Literal["applied", "rejected"]


class AuditTrail:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.changes: Collection[dict[str, Any]] = db["rule_changes"]

    def ensure_indexes(self) -> None:
        self.changes.create_index([("rule_name", 1), ("recorded_at", DESCENDING)])

    def applied(self, command: RolloutCommand, event: RolloutChanged) -> None:
        self._record(command, "applied", event_id=event.event_id)

    def rejected(self, command: RolloutCommand, reason: str) -> None:
        self._record(command, "rejected", reason=reason)

    def _record(
        self, command: RolloutCommand, outcome: Outcome, *, event_id: str | None = None, reason: str = ""
    ) -> None:
        entry = {
            "rule_name": command.rule_name,
            "action": command.change.action,
            "change": command.change.model_dump(mode="json", exclude={"action"}),
            "changed_by": command.issued_by,
            "issued_at": command.issued_at,
            "recorded_at": datetime.now(UTC),
            "outcome": outcome,
            "event_id": event_id,
            "reason": reason or None,
        }
        self.changes.replace_one({"_id": command.command_id}, entry, upsert=True)

    def entry(self, command_id: str) -> dict[str, Any] | None:
        return self.changes.find_one({"_id": command_id})

    def recent(self, rule_name: str, *, limit: int = 50) -> list[dict[str, Any]]:
        found = self.changes.find({"rule_name": rule_name}).sort("recorded_at", DESCENDING).limit(limit)
        return [{"command_id": d.pop("_id"), **d} for d in found]
