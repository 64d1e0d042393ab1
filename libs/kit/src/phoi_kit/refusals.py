"""Refused calls on record, at a bounded cost.

Every 403 is evidence, but a client hammering an endpoint it may not use must not become a write per
call through the outbox, the broker and the audit chain. So refusals are counted per caller (the token's
subject, else the client address) in fixed windows (`access_denied_window_seconds`, aligned to the
epoch) in the kit's `access_refusals` table:

- the first `access_denied_burst` refusals of a caller in a window are published one by one
  (``security.access_denied.v1``), in the transaction that counts them;
- the rest only add to the window's row (one row per caller and window, however many refusals);
- when the window has closed its row is deleted and, if it counted refusals beyond the burst, a
  ``security.access_denied_summary.v1`` with their number is published in that same transaction: by
  the caller's next refusal, else by `close_windows`, which every replica runs every
  `access_denied_sweep_seconds`.

The counts live in PostgreSQL, so they hold across replicas and restarts, and every refusal is counted
in exactly one committed row: the individual events plus the summaries' counts are all the refusals.
Counting and closing a caller's windows take that caller's advisory lock, so a window's row is made
once (a refusal waiting for the closing of its window counts into the next one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from phoi_contracts.envelope import SYSTEM_ACTOR, Actor
from phoi_contracts.events.security import AccessDenied, AccessDeniedSummary
from sqlalchemy import text

from phoi_kit.auth import CurrentUser
from phoi_kit.uow import UnitOfWork

#: How many closed windows one sweep round closes at most (the next round takes the rest); each holds an
#: advisory lock until the round commits, so keep it well under PostgreSQL's lock table.
SWEEP_BATCH = 100

#: First key of the per-caller advisory locks (two-key form: apart from the one-key locks elsewhere).
LOCK_CLASS = 0x70686F69

# Everything about one caller's windows happens under its lock: counting, and closing. A refusal that
# waited for a closing therefore reads the clock after it and counts into the next window: a window's row
# is made once, so its burst and its summary are made once too.
_LOCK_CALLER = text("SELECT pg_advisory_xact_lock(CAST(:lock_class AS integer), hashtext(CAST(:caller AS text)))")

# Closes the caller's earlier windows: their rows go, their summaries are published by the caller.
_CLOSE_CALLER = text(
    "DELETE FROM access_refusals WHERE caller = :caller AND window_end <= clock_timestamp() RETURNING *"
)

# Closes windows that have ended, of callers no one else holds (a refusal being counted, another replica).
_CLOSE_DUE = text(
    """
DELETE FROM access_refusals WHERE (caller, window_start) IN (
  SELECT caller, window_start FROM access_refusals
  WHERE window_end <= clock_timestamp()
    AND pg_try_advisory_xact_lock(CAST(:lock_class AS integer), hashtext(caller))
  LIMIT :limit FOR UPDATE SKIP LOCKED
) RETURNING *
"""
)

# Counts one refusal into the caller's current window. Beyond the row's burst its reason is tallied;
# the answer says how many refusals the window holds now and its burst, which decide the event.
_COUNT = text(
    """
WITH bounds AS (
  SELECT to_timestamp(
           floor(extract(epoch FROM clock_timestamp()) / CAST(:seconds AS integer)) * CAST(:seconds AS integer)
         ) AS window_start
)
INSERT INTO access_refusals AS r (
  caller, window_start, window_end, burst, refusals, reasons, user_id, username, role, unit_code,
  ip_address, last_method, last_path, last_refused_at
)
SELECT CAST(:caller AS text), b.window_start, b.window_start + make_interval(secs => CAST(:seconds AS integer)),
       CAST(:burst AS integer), 1,
       CASE WHEN CAST(:burst AS integer) < 1 THEN jsonb_build_object(CAST(:reason AS text), 1) ELSE '{}'::jsonb END,
       CAST(:user_id AS text), CAST(:username AS text), CAST(:role AS text), CAST(:unit_code AS text),
       CAST(:ip_address AS text), CAST(:method AS text), CAST(:path AS text), clock_timestamp()
FROM bounds b
ON CONFLICT (caller, window_start) DO UPDATE SET
  refusals = r.refusals + 1,
  reasons = CASE WHEN r.refusals >= r.burst
                 THEN jsonb_set(r.reasons, ARRAY[CAST(:reason AS text)],
                                to_jsonb(coalesce((r.reasons ->> CAST(:reason AS text))::int, 0) + 1))
                 ELSE r.reasons END,
  user_id = excluded.user_id, username = excluded.username, role = excluded.role,
  unit_code = excluded.unit_code, ip_address = excluded.ip_address,
  last_method = excluded.last_method, last_path = excluded.last_path, last_refused_at = excluded.last_refused_at
RETURNING refusals, burst
"""
)


@dataclass(frozen=True)
class Refusal:
    """One refused call, as it is recorded."""

    service: str
    method: str
    path: str
    reason: str
    user: CurrentUser | None
    ip_address: str | None

    @property
    def caller(self) -> str:
        """Whom the refusal is counted against: the token's subject, else the client's address."""
        if self.user is not None:
            return f"user:{self.user.user_id}"
        return f"address:{self.ip_address}" if self.ip_address else "unknown"

    def event(self) -> AccessDenied:
        user = self.user
        return AccessDenied(
            service=self.service,
            method=self.method,
            path=self.path,
            reason=self.reason,
            user_id=user.user_id if user else None,
            username=user.username if user else None,
            unit_code=user.unit_code if user else None,
            ip_address=self.ip_address,
        )


@dataclass(frozen=True)
class RefusalLimits:
    burst: int  # refusals per caller and window published one by one
    window_seconds: int


async def count_refusal(uow: UnitOfWork, refusal: Refusal, limits: RefusalLimits, *, topic: str | None) -> bool:
    """Count `refusal` (and publish the summaries of the caller's closed windows) in `uow`; publish it
    one by one if it is within the burst. True if it was published one by one. The caller commits."""
    await uow.session.execute(_LOCK_CALLER, {"lock_class": LOCK_CLASS, "caller": refusal.caller})
    closed = await _rows(uow, _CLOSE_CALLER, caller=refusal.caller)
    publish_summaries(uow, closed, service=refusal.service, topic=topic)
    user = refusal.user
    counted = (
        await uow.session.execute(
            _COUNT,
            {
                "caller": refusal.caller,
                "seconds": limits.window_seconds,
                "burst": limits.burst,
                "reason": refusal.reason,
                "user_id": user.user_id if user else None,
                "username": user.username if user else None,
                "role": user.primary_role if user else None,
                "unit_code": user.unit_code if user else None,
                "ip_address": refusal.ip_address,
                "method": refusal.method,
                "path": refusal.path,
            },
        )
    ).one()
    if counted.refusals > counted.burst:
        return False
    uow.publish(refusal.event(), topic=topic)
    return True


async def close_windows(uow: UnitOfWork, *, service: str, topic: str | None, limit: int = SWEEP_BATCH) -> int:
    """Close the windows that have ended (at most `limit`): delete their rows and publish a summary for
    each that counted refusals beyond its burst, in `uow`. Returns the summaries published."""
    return publish_summaries(
        uow, await _rows(uow, _CLOSE_DUE, lock_class=LOCK_CLASS, limit=limit), service=service, topic=topic
    )


async def _rows(uow: UnitOfWork, statement: Any, **params: Any) -> list[Any]:
    return list((await uow.session.execute(statement, params)).all())


def publish_summaries(uow: UnitOfWork, windows: Sequence[Any], *, service: str, topic: str | None) -> int:
    """Queue the summaries of closed windows' rows on `uow`; the caller as their actor, like its refusals."""
    published = 0
    for window in windows:
        summary = summary_of(window, service=service)
        if summary is None:
            continue
        actor = Actor(user_id=window.user_id, username=window.username, role=window.role, unit_code=window.unit_code)
        uow.publish(summary, topic=topic, actor=actor if window.user_id else SYSTEM_ACTOR, time=summary.last_refused_at)
        published += 1
    return published


def summary_of(window: Any, *, service: str) -> AccessDeniedSummary | None:
    """The summary of a closed window's row, or None when every refusal in it was published one by one."""
    beyond = int(window.refusals) - int(window.burst)
    if beyond <= 0:
        return None
    return AccessDeniedSummary(
        service=service,
        window_start=_aware(window.window_start),
        window_end=_aware(window.window_end),
        count=beyond,
        individually_recorded=int(window.burst),
        reasons={str(k): int(v) for k, v in dict(window.reasons).items()},
        last_method=window.last_method,
        last_path=window.last_path,
        last_refused_at=_aware(window.last_refused_at),
        user_id=window.user_id,
        username=window.username,
        unit_code=window.unit_code,
        ip_address=window.ip_address,
    )


def _aware(value: datetime) -> datetime:
    assert value.tzinfo is not None  # timestamptz columns
    return value
