"""A local replica of the compacted rollout topic, for services that decide the gate in-process.

Reads ``rollout.rules.v1`` from the beginning with no consumer group (every instance keeps the
whole, small, topic; buybutton.kafka.table_replica's CompactedTopicReader), keeps the newest
RolloutChanged per rule name, and sets ``caught_up`` once it has read up to the end offsets it
found at start. Until then (a partial replay could
miss a later kill switch), and for an unknown rule, ``rules()`` answers None and the gate fails
closed. A failed read is logged and tried again; the rules in force stay as they were.

A tombstone (no value) or an unreadable record of a rule means the rule is gone: the replica
forgets it and the gate fails closed for it, the same whether the replica reads the record live
or replays the topic from the start (compaction keeps the newest record per key, so a fresh
replica's last word on a rule is the long-running one's). A record that names no rule is logged
and skipped. Of two readable records of one rule, the one with the higher ``sequence`` wins, so
a repeat of an older record (a relay sending again) never takes a newer rule back.

``event()`` gives the RolloutChanged in force itself (its version, who changed it), and every
callable in ``listeners`` is called with each RolloutChanged as it is applied.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from aiokafka.structs import ConsumerRecord

from buybutton.events import RolloutChanged
from buybutton.kafka.codec import PoisonRecord, decode
from buybutton.kafka.table_replica import CompactedTopicReader
from buybutton.rollout import GateRules
from buybutton.topics import ROLLOUT

log = structlog.get_logger(__name__)


class RulesReplica(CompactedTopicReader):
    def __init__(self, bootstrap_servers: str, *, client_id: str, topic_prefix: str = "") -> None:
        super().__init__(bootstrap_servers, ROLLOUT.named(topic_prefix), client_id=client_id)
        self._rules: dict[str, GateRules] = {}
        self._events: dict[str, RolloutChanged] = {}
        self.listeners: list[Callable[[RolloutChanged], None]] = []

    def rules(self, rule_name: str) -> GateRules | None:
        return self._rules.get(rule_name) if self.caught_up.is_set() else None

    def event(self, rule_name: str) -> RolloutChanged | None:
        """The RolloutChanged in force for this rule, or None (also until caught up)."""
        return self._events.get(rule_name) if self.caught_up.is_set() else None

    def _apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        key = record.key
        try:
            event = decode(record.value, record.headers)
        except PoisonRecord as error:
            self._forget(key, reason=str(error))
            return
        if not isinstance(event, RolloutChanged):
            self._forget(key, reason=f"{event.event_type} on the rules topic")
            return
        current = self._events.get(event.rule_name)
        if current is not None and (event.sequence or 0) < (current.sequence or 0):
            log.info("older rollout record skipped", rule_name=event.rule_name, sequence=event.sequence)
            return
        self._rules[event.rule_name] = GateRules.of(event)
        self._events[event.rule_name] = event
        self.applied += 1
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as error:  # one listener's bug must not stop the replica
                log.error("rollout listener failed", error_class=type(error).__name__)

    def _forget(self, key: bytes | None, *, reason: str) -> None:
        """A rule whose newest record is a tombstone or unreadable is no rule: fail closed."""
        rule_name = key.decode(errors="replace") if key else None
        if rule_name is None:
            log.warning("rollout record without a rule name skipped", reason=reason)
            return
        self._rules.pop(rule_name, None)
        self._events.pop(rule_name, None)
        log.warning(
            "rollout rule removed: its newest record is unreadable or a tombstone", rule_name=rule_name
        )
