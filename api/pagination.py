"""Cursor pagination: opaque cursors, capped page sizes, one shape for every list.

A cursor encodes the sort key of the last item returned (base64 of a small JSON value), so
pages stay stable while rows are appended and no offset scan is ever needed. A cursor that
does not decode is a 422 problem, not a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Query

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 500
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page (max 1000).")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`nextCursor` of a previous page.")
]


class BadCursor(ValueError):
    """Raised when a cursor does not decode to what the route expects."""

    reason = "bad_cursor"
    detail = "the cursor is not one this API issued"


def encode_cursor(value: Any) -> str:
    """Encode a sort key as an opaque cursor."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: type) -> Any:
    """Decode a cursor, checking the type of the sort key inside."""
    if cursor is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor() from None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadCursor()
    return value
