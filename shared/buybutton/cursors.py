"""Opaque page cursors for lists shown newest first: the (created_at, _id) of the last document
shown, encoded so callers treat it as a token. A cursor that does not parse answers 422 (a
request validation error), never a server error. Used by checkout's buyer order list and by
merchant-relay's merchant order list."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi.exceptions import RequestValidationError

Position = tuple[datetime, str]


def encode_cursor(document: Mapping[str, Any]) -> str:
    raw = json.dumps([document["created_at"].astimezone(UTC).isoformat(), document["_id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(cursor: str | None) -> Position | None:
    if cursor is None:
        return None
    try:
        created_at, document_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None or not isinstance(document_id, str):
            raise ValueError("incomplete cursor")
        return moment.astimezone(UTC), document_id
    except (ValueError, TypeError, OverflowError, binascii.Error):
        raise RequestValidationError(
            [{"loc": ("query", "cursor"), "msg": "not a cursor this API gave out", "type": "value_error"}]
        ) from None


def older_than(after: Position | None) -> dict[str, Any]:
    """The query condition for documents after ``after`` in newest-first order (none: all)."""
    if after is None:
        return {}
    created_at, document_id = after
    return {
        "$or": [
            {"created_at": {"$lt": created_at}},
            {"created_at": created_at, "_id": {"$lt": document_id}},
        ]
    }


NEWEST_FIRST = [("created_at", -1), ("_id", -1)]
