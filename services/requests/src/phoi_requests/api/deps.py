"""Small pieces the routes share: who acts, versions (ETag / If-Match), cursors, dates, settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from phoi_kit.app import User, runtime_of
from phoi_kit.auth import CurrentUser, Role
from phoi_kit.pagination import encode_cursor, read_cursor

from phoi_requests.domain import Actor
from phoi_requests.settings import Settings


def actor_of(user: CurrentUser) -> Actor:
    """The domain actor for a token: the kit's one mapping (`CurrentUser.act_as`) decides the role; a
    unit account acts as its unit. No known role → 403 `role_required`."""
    role = user.act_as()
    unit_code = user.unit_code if role is Role.UNIT_ACCOUNT else None
    return Actor(user_id=user.user_id, username=user.username, role=role, unit_code=unit_code)


def _actor(user: User) -> Actor:
    return actor_of(user)


CurrentActor = Annotated[Actor, Depends(_actor)]


def settings_of(request: Request) -> Settings:
    settings = runtime_of(request).settings
    assert isinstance(settings, Settings)
    return settings


AppSettings = Annotated[Settings, Depends(settings_of)]


# --- versions ------------------------------------------------------------------------------------------


# --- cursors -------------------------------------------------------------------------------------------


def request_cursor(created_at: datetime, request_id: uuid.UUID) -> str:
    return encode_cursor(created_at.isoformat(), str(request_id))


def _aware(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(text)
    return at


def parse_request_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    parts = read_cursor(cursor, _aware, uuid.UUID)
    return None if parts is None else (parts[0], parts[1])
