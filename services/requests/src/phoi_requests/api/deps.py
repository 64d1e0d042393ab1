"""Small pieces the routes share: who acts, versions (ETag / If-Match), cursors, dates, settings."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import Depends, Request
from phoi_kit.app import User, runtime_of
from phoi_kit.auth import CurrentUser
from phoi_kit.auth import Role as TokenRole
from phoi_kit.errors import Forbidden
from phoi_kit.pagination import encode_cursor, read_cursor

from phoi_requests.domain import Actor, Role
from phoi_requests.domain.model import VIETNAM_TZ
from phoi_requests.settings import Settings

ALL_ROLES = (TokenRole.UNIT_ACCOUNT, TokenRole.QLCL_OFFICER, TokenRole.QLCL_ADMIN, TokenRole.AUDITOR)


def actor_of(user: CurrentUser) -> Actor:
    """The domain actor for a token. A unit account acts as its unit; otherwise the most capable
    QLCL role wins (officer over admin), then auditor. No known role → 403 `role_required`."""
    user.require(*ALL_ROLES)
    if user.is_unit:
        if not user.unit_code:
            raise Forbidden("This unit account has no unit code in its token.", code="unit_code_missing")
        return Actor(user_id=user.user_id, username=user.username, role=Role.UNIT_ACCOUNT, unit_code=user.unit_code)
    for token_role, role in (
        (TokenRole.QLCL_OFFICER, Role.QLCL_OFFICER),
        (TokenRole.QLCL_ADMIN, Role.QLCL_ADMIN),
        (TokenRole.AUDITOR, Role.AUDITOR),
    ):
        if token_role in user.roles:
            return Actor(user_id=user.user_id, username=user.username, role=role)
    raise AssertionError("unreachable: require() passed")  # pragma: no cover


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


# --- dates ---------------------------------------------------------------------------------------------


# Filters outside these dates mean "no bound": the extremes of `date` do not convert to UTC.
_EARLIEST, _LATEST = date(1900, 1, 1), date(9999, 1, 1)


def vietnam_day_start(day: date) -> datetime:
    """Midnight in Vietnam at the start of `day` (dates in filters are Vietnamese calendar dates)."""
    return datetime.combine(min(max(day, _EARLIEST), _LATEST), time(0), tzinfo=VIETNAM_TZ)


def vietnam_day_end(day: date) -> datetime:
    """Midnight in Vietnam at the end of `day` (an exclusive bound)."""
    return vietnam_day_start(min(day, _LATEST) + timedelta(days=1))
