"""Events to Kafka records and back.

Produces: key = the aggregate id (utf-8), value = the event's JSON, headers ``event_type`` and
``schema_version``. Consumes: any record; a record that is not JSON, names no known
(event_type, schema_version), or fails its model's validation raises PoisonRecord, whose
message says why without echoing the record's values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from buybutton.events import Event, UnknownEventType, model_for

EVENT_TYPE_HEADER = "event_type"
SCHEMA_VERSION_HEADER = "schema_version"

Headers = Sequence[tuple[str, bytes]]


class PoisonRecord(ValueError):
    """A record that no retry can make readable."""


@dataclass(frozen=True)
class EncodedEvent:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def encode(event: Event) -> EncodedEvent:
    return EncodedEvent(
        key=event.key.encode(),
        value=event.model_dump_json().encode(),
        headers=[
            (EVENT_TYPE_HEADER, event.event_type.encode()),
            (SCHEMA_VERSION_HEADER, str(event.schema_version).encode()),
        ],
    )


def header(headers: Headers | None, name: str) -> str | None:
    for key, value in headers or ():
        if key == name:
            return value.decode(errors="replace")
    return None


def describe_validation_error(error: ValidationError) -> str:
    """Which fields failed and why, never the values (they may be personal data)."""
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    ]
    return f"{error.title}: " + "; ".join(problems[:10])


def decode(value: bytes | None, headers: Headers | None = None) -> Event:
    if value is None:
        raise PoisonRecord("record has no value (a tombstone)")
    try:
        body = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoisonRecord(f"value is not JSON ({type(error).__name__})") from None
    if not isinstance(body, dict):
        raise PoisonRecord(f"value is JSON {type(body).__name__}, not an object")
    event_type = header(headers, EVENT_TYPE_HEADER) or body.get("event_type")
    version_text = header(headers, SCHEMA_VERSION_HEADER) or body.get("schema_version")
    if not isinstance(event_type, str) or version_text is None:
        raise PoisonRecord("record names no event_type and schema_version")
    try:
        model = model_for(event_type, int(version_text))
    except (UnknownEventType, ValueError) as error:
        raise PoisonRecord(str(error)) from None
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise PoisonRecord(describe_validation_error(error)) from None
