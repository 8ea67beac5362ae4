"""structlog set up once for every service: JSON lines on stdout, UTC timestamps, the service
name bound, context variables (event_id, correlation_id, ...) merged in, and a redaction step
that runs last before rendering so that no secret or personal data reaches a log line.

Redaction: a key whose name marks a secret or personal data (see ``buybutton.sensitive``) has
its value replaced by ``[redacted]``, at any depth; any string value has card numbers, bearer
tokens and JWTs masked.

Libraries that log what passes through them are held at WARNING whatever the level: httpx logs
every request's URL at INFO (Stripe's customer and payment-method ids, buyer ids in the vault's
paths) and pymongo's command log at DEBUG holds whole documents; redaction cannot tell an id in
a URL or a document from any other text.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from buybutton.sensitive import is_sensitive_name, mask_text

REDACTED = "[redacted]"
QUIET_LIBRARIES = ("httpx", "httpcore", "pymongo")
_ALLOWED_KEYS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "service",
        "event_id",
        "event_type",
        "correlation_id",
        "causation_id",
        "topic",
    }
)


def _redact_value(key: str, value: Any) -> Any:
    if key not in _ALLOWED_KEYS and is_sensitive_name(key):
        return REDACTED
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redact_value(key, item) for item in value]
    return value


def redact_sensitive(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secrets and personal data in every field of a log event."""
    return {key: _redact_value(key, value) for key, value in event_dict.items()}


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current sys.stdout (which a test runner or a daemon may replace)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Configure structlog (and the standard library's loggers) for ``service``."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*shared, redact_sensitive, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(),  # whatever sys.stdout is at the time
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    handler = _StdoutHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redact_sensitive,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for library in QUIET_LIBRARIES:
        logging.getLogger(library).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
