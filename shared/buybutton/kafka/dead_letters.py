"""Dead letters: a record that a consumer group could not handle is copied, bytes untouched, to
that group's ``<topic>.<group>.dlq`` with the reason in headers; replay moves such records to
``<topic>.<group>.retry``, which only that group reads, so no other group sees them twice.

Headers added (all utf-8): dlq.original.topic, dlq.original.partition, dlq.original.offset,
dlq.consumer.group, dlq.error.class, dlq.attempts, dlq.failed_at (ISO UTC), and, for an
unreadable record only, dlq.error.message: the codec's reason, which names fields and never
their values (masked all the same, at most 500 characters). A handler's own error message is
never copied: it may hold the values it was handling. Replay strips them and adds
dlq.replayed_from.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord

from buybutton.kafka.codec import Headers, PoisonRecord
from buybutton.sensitive import mask_text
from buybutton.topics import DLQ_SUFFIX, RETRY_SUFFIX

DLQ_HEADER_PREFIX = "dlq."
ORIGINAL_TOPIC = "dlq.original.topic"
REPLAYED_FROM = "dlq.replayed_from"
CONSUMER_GROUP = "dlq.consumer.group"
ERROR_CLASS = "dlq.error.class"
ERROR_MESSAGE = "dlq.error.message"
ATTEMPTS = "dlq.attempts"
MAX_MESSAGE_CHARS = 500


def dead_letter_headers(
    record: ConsumerRecord[bytes, bytes],
    *,
    error: BaseException,
    attempts: int,
    group_id: str,
    original_topic: str | None = None,
) -> list[tuple[str, bytes]]:
    """The record's own headers plus the reason. ``original_topic`` names the registry topic
    when the record was read from the group's retry topic."""
    reason = {
        ORIGINAL_TOPIC: original_topic or record.topic,
        "dlq.original.partition": str(record.partition),
        "dlq.original.offset": str(record.offset),
        CONSUMER_GROUP: group_id,
        ERROR_CLASS: type(error).__name__,
        ATTEMPTS: str(attempts),
        "dlq.failed_at": datetime.now(UTC).isoformat(),
    }
    if isinstance(error, PoisonRecord):
        reason[ERROR_MESSAGE] = mask_text(str(error))[:MAX_MESSAGE_CHARS]
    kept = [(k, v) for k, v in record.headers if not k.startswith(DLQ_HEADER_PREFIX)]
    return kept + [(k, v.encode()) for k, v in reason.items()]


def retry_topic_of(dlq_topic_name: str) -> str:
    """Where a replayed dead letter goes: the same group's retry topic."""
    if not dlq_topic_name.endswith(DLQ_SUFFIX):
        raise ValueError(f"{dlq_topic_name} is not a dead-letter topic (<topic>.<group>{DLQ_SUFFIX})")
    return dlq_topic_name.removesuffix(DLQ_SUFFIX) + RETRY_SUFFIX


def replay_headers(headers: Headers, dlq_topic_name: str) -> list[tuple[str, bytes]]:
    kept = [(k, v) for k, v in headers if not k.startswith(DLQ_HEADER_PREFIX)]
    return [*kept, (REPLAYED_FROM, dlq_topic_name.encode())]
