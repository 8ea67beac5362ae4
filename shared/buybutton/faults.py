"""Which failures are the infrastructure's (wait and try again) and which are the message's own.

The consume loop asks ``is_transient`` of every error a handler raises. Transient errors (the
database, the broker or a dependency away, slow or overloaded) are retried without limit,
holding the partition, because the same record will succeed once the outage ends and skipping it
would break per-key order. Every other error is a domain error: the record itself cannot be
handled, so after a bounded number of attempts it goes to its group's dead-letter topic.

Raise ``TransientFailure`` for a dependency's timeout, 5xx or 429 that no library error already
says; subclass it for other conditions that clear by themselves (a version conflict that a
fresh read resolves). pymongo and httpx are looked up only when installed.
"""

from __future__ import annotations

import importlib.util

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
)

TRANSIENT_MONGO_LABELS = ("RetryableWriteError", "TransientTransactionError")
KAFKA_TRANSIENT = (
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RequestTimedOutError,
    NotLeaderForPartitionError,
)
TOO_MANY_REQUESTS = 429


class TransientFailure(Exception):
    """A failure that waiting will cure: a dependency timed out, answered 5xx or 429."""


def is_transient(error: BaseException) -> bool:
    """True when retrying the same record later can succeed without anyone changing it."""
    if isinstance(error, TransientFailure | TimeoutError | ConnectionError):
        return True
    if isinstance(error, KafkaError):
        return isinstance(error, KAFKA_TRANSIENT) or bool(getattr(error, "retriable", False))
    return _is_transient_mongo(error) or _is_transient_http(error)


def _is_transient_mongo(error: BaseException) -> bool:
    if importlib.util.find_spec("pymongo") is None:
        return False
    from pymongo import errors

    if isinstance(error, errors.ConnectionFailure | errors.ExecutionTimeout | errors.WTimeoutError):
        return True  # AutoReconnect, NotPrimaryError, NetworkTimeout, ServerSelectionTimeoutError
    if isinstance(error, errors.PyMongoError):
        # ``timeout``: the operation ran out of its timeoutMS (client-side operation timeout)
        return error.timeout or any(error.has_error_label(label) for label in TRANSIENT_MONGO_LABELS)
    return False


def _is_transient_http(error: BaseException) -> bool:
    if importlib.util.find_spec("httpx") is None:
        return False
    import httpx

    if isinstance(error, httpx.TransportError):
        return True  # connect/read timeouts, refused or dropped connections
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        return status >= 500 or status == TOO_MANY_REQUESTS
    return False
