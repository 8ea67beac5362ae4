"""Dead letters: a record that could not be handled is copied, bytes untouched, to
``<topic>.dlq`` with the reason in headers; ``replay`` sends such records back to their topic.

Headers added (all utf-8): dlq.original.topic, dlq.original.partition, dlq.original.offset,
dlq.consumer.group, dlq.error.class, dlq.error.message (masked, at most 500 characters),
dlq.attempts, dlq.failed_at (ISO UTC). Replay strips them and adds dlq.replayed_from.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord

from buybutton.kafka.codec import Headers, header
from buybutton.sensitive import mask_text
from buybutton.topics import DLQ_SUFFIX

DLQ_HEADER_PREFIX = "dlq."
ORIGINAL_TOPIC = "dlq.original.topic"
REPLAYED_FROM = "dlq.replayed_from"
ERROR_CLASS = "dlq.error.class"
ERROR_MESSAGE = "dlq.error.message"
ATTEMPTS = "dlq.attempts"
MAX_MESSAGE_CHARS = 500


def dlq_topic(topic: str) -> str:
    return topic if topic.endswith(DLQ_SUFFIX) else topic + DLQ_SUFFIX


def dead_letter_headers(
    record: ConsumerRecord[bytes, bytes], *, error: BaseException, attempts: int, group_id: str
) -> list[tuple[str, bytes]]:
    reason = {
        ORIGINAL_TOPIC: record.topic,
        "dlq.original.partition": str(record.partition),
        "dlq.original.offset": str(record.offset),
        "dlq.consumer.group": group_id,
        ERROR_CLASS: type(error).__name__,
        ERROR_MESSAGE: mask_text(str(error))[:MAX_MESSAGE_CHARS],
        ATTEMPTS: str(attempts),
        "dlq.failed_at": datetime.now(UTC).isoformat(),
    }
    kept = [(k, v) for k, v in record.headers if not k.startswith(DLQ_HEADER_PREFIX)]
    return kept + [(k, v.encode()) for k, v in reason.items()]


def replay_target(headers: Headers, dlq_topic_name: str) -> str:
    """The topic a dead letter came from."""
    original = header(headers, ORIGINAL_TOPIC)
    if original:
        return original
    return dlq_topic_name.removesuffix(DLQ_SUFFIX)


def replay_headers(headers: Headers, dlq_topic_name: str) -> list[tuple[str, bytes]]:
    kept = [(k, v) for k, v in headers if not k.startswith(DLQ_HEADER_PREFIX)]
    return [*kept, (REPLAYED_FROM, dlq_topic_name.encode())]
