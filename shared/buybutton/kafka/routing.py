"""A consumer group's routing table: which handler takes which event type, which topics that
means reading, and where each topic's dead letters go.

A handler is ``async def handler(event) -> None``: it makes its state change (and records the
events that follow from it) through the unit of work, whose outbox a relay publishes; it never
publishes. The table is refused at build time when a handler is declared to return something,
or when the registry does not name the group among a routed topic's consumers (its dead-letter
and retry topics would not exist). For every routed topic the group also reads its own retry
topic, where replayed dead letters arrive.

A record is looked at before it is decoded: an event type the group does not route is skipped
on its ``event_type`` header alone, so another group's events never reach validation, let alone
the dead-letter topic. Only a routed type is decoded and validated.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from buybutton.events import Event
from buybutton.kafka.codec import EVENT_TYPE_HEADER, Headers, PoisonRecord, header
from buybutton.topics import dlq_name, retry_name, topic_for

Handler = Callable[[Any], Awaitable[None]]
Routes = Mapping[type[Event], Handler]
NO_RESULT = (inspect.Signature.empty, None, "None")


class UnroutedVersion(PoisonRecord):
    """The group routes this event type, but not this schema version of it."""


@dataclass(frozen=True)
class RoutingTable:
    group: str
    handlers: Mapping[type[Event], Handler]
    routed_types: frozenset[str]
    original_topic: Mapping[str, str]  # every topic read (routed and retry) -> the routed topic

    @classmethod
    def build(cls, routes: Routes, *, group: str, topic_prefix: str = "") -> RoutingTable:
        original: dict[str, str] = {}
        for event_type, handler in routes.items():
            _refuse_results(event_type, handler)
            topic = topic_for(event_type)
            if group not in topic.consumed_by:
                raise ValueError(
                    f"{group} routes {event_type.__name__} but the registry does not list it among "
                    f"{topic.name}'s consumers, so its dead-letter and retry topics do not exist: "
                    "add it to consumed_by"
                )
            name = topic.named(topic_prefix)
            original[name] = name
            original[retry_name(name, group)] = name
        return cls(
            group=group,
            handlers=dict(routes),
            routed_types=frozenset(event_type.type_name() for event_type in routes),
            original_topic=original,
        )

    @property
    def topics(self) -> list[str]:
        return sorted(self.original_topic)

    def dead_letter_topic(self, topic: str) -> str:
        return dlq_name(self.original_topic[topic], self.group)

    def skips_unread(self, headers: Headers | None) -> bool:
        """True when the record's header names an event type this group does not route."""
        named = header(headers, EVENT_TYPE_HEADER)
        return named is not None and named not in self.routed_types

    def handler_for(self, event: Event) -> Handler | None:
        """The routed handler; None for a type the group does not route (a record without
        headers, known only once decoded). A routed type in an unrouted version is unreadable
        to this group."""
        handler = self.handlers.get(type(event))
        if handler is None and event.event_type in self.routed_types:
            raise UnroutedVersion(
                f"{self.group} routes no handler for {event.event_type} v{event.schema_version}"
            )
        return handler


def _refuse_results(event_type: type[Event], handler: Handler) -> None:
    returns = inspect.signature(handler).return_annotation
    if returns not in NO_RESULT:
        raise TypeError(
            f"the handler for {event_type.__name__} is declared to return {returns}: handlers return "
            "None and record the events that follow through the unit of work (the loop never publishes)"
        )
