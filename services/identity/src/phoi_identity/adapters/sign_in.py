"""Queries on the login-event high-water mark and the stored sign-in activity."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_identity.domain.sign_in import Cursor, SignInEvent, Window
from phoi_identity.models import LoginEventCursorRow, LoginEventRow, LoginFailureWindowRow

FAILED = "auth.login_failed.v1"
SUCCEEDED = "auth.login_succeeded.v1"


async def lock_cursor(session: AsyncSession, initial_ms: int) -> Cursor | None:
    """The cursor, row-locked for this transaction; None when another replica holds it (skip this
    round). Created at `initial_ms` on first use."""
    await session.execute(
        pg_insert(LoginEventCursorRow).values(id=1, high_water_ms=initial_ms, seen_keys=[]).on_conflict_do_nothing()
    )
    row = (
        await session.execute(
            select(LoginEventCursorRow).where(LoginEventCursorRow.id == 1).with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return Cursor(int(row.high_water_ms), frozenset(row.seen_keys or ()))


async def save_cursor(session: AsyncSession, cursor: Cursor) -> None:
    row = await session.get(LoginEventCursorRow, 1)
    assert row is not None
    row.high_water_ms = cursor.high_water_ms
    row.seen_keys = sorted(cursor.seen)
    row.updated_at = func.now()


async def read_cursor(session: AsyncSession) -> Cursor | None:
    row = await session.get(LoginEventCursorRow, 1)
    return None if row is None else Cursor(int(row.high_water_ms), frozenset(row.seen_keys or ()))


async def store(session: AsyncSession, event: SignInEvent, event_type: str, account_id: uuid.UUID | None) -> bool:
    """Keep one event; False if it was kept before."""
    result = await session.execute(
        pg_insert(LoginEventRow)
        .values(
            key=event.key,
            occurred_at=event.occurred_at,
            type=event_type,
            keycloak_type=event.keycloak_type,
            account_id=account_id,
            user_id=event.user_id,
            username=event.username,
            client_id=event.client_id,
            ip_address=event.ip_address,
            error=event.error,
        )
        .on_conflict_do_nothing()
        .returning(LoginEventRow.key)
    )
    return result.first() is not None


# One failed login into its window's row. Beyond the row's burst its error is tallied and, for the first
# one beyond, its time kept; the answer (failures, burst) says whether it is published one by one.
_COUNT_FAILURE = text(
    """
INSERT INTO login_failure_windows AS w (
  caller, window_start, window_end, burst, failures, errors, user_id, username, ip_address, client_id,
  first_counted_at, last_failed_at
) VALUES (
  CAST(:caller AS text), :window_start, :window_end, CAST(:burst AS integer), 1,
  CASE WHEN CAST(:burst AS integer) < 1 THEN jsonb_build_object(CAST(:error AS text), 1) ELSE '{}'::jsonb END,
  CAST(:user_id AS text), CAST(:username AS text), CAST(:ip_address AS text), CAST(:client_id AS text),
  :occurred_at, :occurred_at
)
ON CONFLICT (caller, window_start) DO UPDATE SET
  failures = w.failures + 1,
  errors = CASE WHEN w.failures >= w.burst
                THEN jsonb_set(w.errors, ARRAY[CAST(:error AS text)],
                               to_jsonb(coalesce((w.errors ->> CAST(:error AS text))::int, 0) + 1))
                ELSE w.errors END,
  first_counted_at = CASE WHEN w.failures = w.burst THEN excluded.first_counted_at ELSE w.first_counted_at END,
  last_failed_at = greatest(w.last_failed_at, excluded.last_failed_at),
  user_id = coalesce(excluded.user_id, w.user_id), username = coalesce(excluded.username, w.username),
  ip_address = coalesce(excluded.ip_address, w.ip_address), client_id = coalesce(excluded.client_id, w.client_id)
RETURNING failures, burst
"""
)


async def count_failure(
    session: AsyncSession, event: SignInEvent, *, caller: str, window: Window, burst: int, username: str | None
) -> bool:
    """Count a failed login into its window; True if it is within the burst (published one by one)."""
    counted = (
        await session.execute(
            _COUNT_FAILURE,
            {
                "caller": caller,
                "window_start": window.start,
                "window_end": window.end,
                "burst": burst,
                "error": event.error or "unknown",
                "user_id": event.user_id,
                "username": username,
                "ip_address": event.ip_address,
                "client_id": event.client_id,
                "occurred_at": event.occurred_at,
            },
        )
    ).one()
    return bool(counted.failures <= counted.burst)


async def close_failure_windows(session: AsyncSession) -> list[Row[Any]]:
    """Delete the windows that have ended and return them (the poller holds the cursor: one at a time)."""
    table = LoginFailureWindowRow.__table__
    ended = await session.execute(
        delete(LoginFailureWindowRow).where(LoginFailureWindowRow.window_end <= func.now()).returning(*table.c)
    )
    return sorted(ended.all(), key=lambda row: row.window_end)


@dataclass(frozen=True)
class ActivitySummary:
    account_id: uuid.UUID
    failures: int
    successes: int
    last_failure_at: datetime | None
    last_success_at: datetime | None
    last_failure_ip: str | None
    last_failure_error: str | None


async def summaries(
    session: AsyncSession, *, since: datetime, min_failures: int, account_id: uuid.UUID | None = None, limit: int
) -> list[ActivitySummary]:
    failed = LoginEventRow.type == FAILED
    succeeded = LoginEventRow.type == SUCCEEDED
    stmt = (
        select(
            LoginEventRow.account_id,
            func.count().filter(failed).label("failures"),
            func.count().filter(succeeded).label("successes"),
            func.max(LoginEventRow.occurred_at).filter(failed).label("last_failure_at"),
            func.max(LoginEventRow.occurred_at).filter(succeeded).label("last_success_at"),
        )
        .where(LoginEventRow.account_id.is_not(None), LoginEventRow.occurred_at >= since)
        .group_by(LoginEventRow.account_id)
        .order_by(func.count().filter(failed).desc(), LoginEventRow.account_id)
        .limit(limit)
    )
    if account_id is not None:
        stmt = stmt.where(LoginEventRow.account_id == account_id)
    else:
        stmt = stmt.having(func.count().filter(failed) >= min_failures)
    out: list[ActivitySummary] = []
    for row in await session.execute(stmt):
        ip, error = await _last_failure(session, row.account_id, since) if row.failures else (None, None)
        out.append(
            ActivitySummary(
                account_id=row.account_id,
                failures=int(row.failures),
                successes=int(row.successes),
                last_failure_at=row.last_failure_at,
                last_success_at=row.last_success_at,
                last_failure_ip=ip,
                last_failure_error=error,
            )
        )
    return out


async def _last_failure(session: AsyncSession, account_id: uuid.UUID, since: datetime) -> tuple[str | None, str | None]:
    row = (
        await session.execute(
            select(LoginEventRow.ip_address, LoginEventRow.error)
            .where(
                LoginEventRow.account_id == account_id,
                LoginEventRow.type == FAILED,
                LoginEventRow.occurred_at >= since,
            )
            .order_by(LoginEventRow.occurred_at.desc())
            .limit(1)
        )
    ).first()
    return (row.ip_address, row.error) if row else (None, None)


async def events_page(
    session: AsyncSession,
    *,
    limit: int,
    before: tuple[datetime, str] | None = None,
    account_id: uuid.UUID | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
) -> list[LoginEventRow]:
    """Newest first."""
    stmt = select(LoginEventRow).order_by(LoginEventRow.occurred_at.desc(), LoginEventRow.key.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(tuple_(LoginEventRow.occurred_at, LoginEventRow.key) < tuple_(*before))
    if account_id is not None:
        stmt = stmt.where(LoginEventRow.account_id == account_id)
    if event_type is not None:
        stmt = stmt.where(LoginEventRow.type == event_type)
    if since is not None:
        stmt = stmt.where(LoginEventRow.occurred_at >= since)
    return list((await session.execute(stmt)).scalars())
