"""Pagination cursors: opaque to callers, the (posted_at, tweet_id) of the last tweet shown,
so pages stay stable while new tweets arrive. A cursor that does not parse answers 422."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError

from tweet_service.queries import Cursor as Position


def encode_cursor(tweet: dict[str, Any]) -> str:
    raw = json.dumps([tweet["posted_at"].isoformat(), tweet["_id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def next_cursor(page: list[dict[str, Any]], limit: int) -> str | None:
    """The cursor of the next page, or None when this page was the last."""
    return encode_cursor(page[-1]) if len(page) == limit else None


def parse_cursor(cursor: str | None) -> Position | None:
    if cursor is None:
        return None
    try:
        posted_at, tweet_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(posted_at)
        if moment.tzinfo is None or not isinstance(tweet_id, str):
            raise ValueError("incomplete cursor")
        moment = moment.astimezone(UTC)  # as stored; a time beyond the calendar's range overflows
    except (ValueError, TypeError, OverflowError, binascii.Error):
        raise RequestValidationError(
            [{"loc": ("query", "cursor"), "msg": "not a cursor this API gave out", "type": "value_error"}]
        ) from None
    return moment, tweet_id


async def _cursor_parameter(cursor: Annotated[str | None, Query(max_length=400)] = None) -> Position | None:
    """``parse_cursor`` as the ``cursor`` query parameter: a coroutine, so FastAPI runs it on the
    event loop rather than in a worker thread."""
    return parse_cursor(cursor)


Cursor = Annotated[Position | None, Depends(_cursor_parameter)]
PageSize = Annotated[int, Query(ge=1, le=100, description="tweets per page")]
