"""Cursor pagination shared by every list endpoint: `?limit=&cursor=` → `{"items": [...], "next_cursor": ...}`.

A cursor is the position after the last item returned (e.g. its sort key and id), encoded opaquely, so
pages stay stable while rows are added — unlike offsets.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from phoi_kit.errors import BadRequest

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="`next_cursor` from the previous page.")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*parts: Any) -> str:
    raw = json.dumps(list(parts), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[Any]:
    """The values `encode_cursor` was given; 400 `invalid_cursor` for anything else."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from exc
    if not isinstance(values, list) or len(values) != parts:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor")
    return values


def read_cursor(cursor: str | None, *kinds: Callable[[Any], Any]) -> tuple[Any, ...] | None:
    """The cursor's parts converted by `kinds` (e.g. `datetime.fromisoformat, uuid.UUID`); None without
    a cursor; 400 `invalid_cursor` when they do not convert (a client can send anything)."""
    if not cursor:
        return None
    values = decode_cursor(cursor, len(kinds))
    try:
        return tuple(kind(value) for kind, value in zip(kinds, values, strict=True))
    except (TypeError, ValueError) as exc:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from exc
