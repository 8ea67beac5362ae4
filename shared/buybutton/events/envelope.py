"""The envelope every event carries, and the base model each event extends.

An event is a small past-tense fact. The envelope (event_id, event_type, schema_version,
occurred_at, correlation_id, causation_id, producer, and the aggregate's sequence number when
a unit of work wrote it) sits beside the event's own fields in one flat JSON object;
event_type and schema_version are also sent as Kafka headers. Readers are tolerant: unknown
fields are ignored. A breaking change is a new schema_version (a new model); an added optional
field is not.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from buybutton.sensitive import card_free


def _require_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("occurred_at must carry a time zone (UTC)")
    return moment.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


def new_event_id() -> str:
    """A random uuid that holds no card-shaped digit run (no scan of a topic ever finds one)."""
    return card_free(lambda: str(uuid.uuid4()))


def utc_now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """Base of every event model. Subclasses set ``event_type`` and ``schema_version`` as
    single-valued Literal fields and name the field that keys them on Kafka (``key_field``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    key_field: ClassVar[str]

    event_id: str = Field(default_factory=new_event_id)
    event_type: str
    schema_version: int
    occurred_at: UtcDatetime = Field(default_factory=utc_now)
    correlation_id: Identifier = Field(description="the order or tweet this event belongs to")
    causation_id: str | None = Field(default=None, description="event_id of the cause")
    producer: Identifier = Field(description="the service that wrote the event")
    sequence: int | None = Field(
        default=None,
        ge=1,
        description="the aggregate's event sequence number, set by the unit of work that wrote "
        "it: per key, readers keep the highest they have seen and drop the rest",
    )

    @property
    def key(self) -> str:
        """The Kafka record key: the id of the aggregate this event is about."""
        return str(getattr(self, self.key_field))

    @classmethod
    def type_name(cls) -> str:
        return str(cls.model_fields["event_type"].default)

    @classmethod
    def version(cls) -> int:
        return int(cls.model_fields["schema_version"].default)

    @classmethod
    def caused_by(cls, cause: Event, **fields: Any) -> Self:
        """Build an event caused by ``cause``: same correlation, causation = cause's id."""
        fields.setdefault("correlation_id", cause.correlation_id)
        return cls(causation_id=cause.event_id, **fields)
