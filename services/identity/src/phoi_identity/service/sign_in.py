"""Sign-in activity: read Keycloak's login events, keep them, publish them as ``auth.*`` events.

One round (`poll_once`) runs in one transaction that holds the high-water-mark row (``FOR UPDATE SKIP
LOCKED``: with several replicas, one polls at a time and the others skip the round). The stored
events, the outbox rows and the new high-water mark commit together, so a crash re-reads from the old
mark and the stored keys (and the deterministic envelope ids) keep every event published once.
Side effects on accounts: a ``LOGIN`` sets ``last_login_at``; a password change moves a
``pending_first_login`` account to ``active``.

Failed logins are all kept, but a burst of them must not become a burst of events: per account (or, for
names Keycloak does not know, per address) and window (``IDENTITY_LOGIN_FAILURES_WINDOW_SECONDS``), the
first ``IDENTITY_LOGIN_FAILURES_BURST`` are published one by one and the rest counted in
``login_failure_windows``; each round closes the windows that have ended and publishes one
``auth.login_failed_summary.v1`` for each that counted beyond its burst (same transaction, so a count is
published exactly once). A failure read after its window closed starts a new row for that window.
"""

from __future__ import annotations

import time
from typing import Any

from phoi_contracts.envelope import SYSTEM_ACTOR
from phoi_contracts.events.identity import AuthLoginFailed, AuthLoginFailedSummary
from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_identity.adapters import accounts as account_repo
from phoi_identity.adapters import sign_in as repo
from phoi_identity.domain.accounts import AccountStatus
from phoi_identity.domain.sign_in import PUBLISHED_TYPES, SignInEvent, event_id, failure_caller, parse, window_of
from phoi_identity.models import AccountRow, LoginEventCursorRow
from phoi_identity.service.common import change_status
from phoi_identity.service.context import IdentityContext

log = get_logger(__name__)

MAX_PAGES_PER_ROUND = 20


def _initial_ms(ctx: IdentityContext) -> int:
    return int((time.time() - ctx.settings.login_events_lookback_seconds) * 1000)


async def init_cursor(ctx: IdentityContext) -> None:
    """Set the high-water mark at start-up if there is none: events from now on (minus the lookback)."""
    async with ctx.database.session() as session:
        await session.execute(
            pg_insert(LoginEventCursorRow)
            .values(id=1, high_water_ms=_initial_ms(ctx), seen_keys=[])
            .on_conflict_do_nothing()
        )
        await session.commit()


async def poll_once(ctx: IdentityContext) -> int:
    """Read and publish what Keycloak recorded since the high-water mark. Returns events published."""
    published = 0
    async with ctx.database.session() as session:
        uow = UnitOfWork(session, source=ctx.source, actor=SYSTEM_ACTOR)
        cursor = await repo.lock_cursor(session, _initial_ms(ctx))
        if cursor is None:
            await session.rollback()
            return 0  # another replica is polling
        page_size = ctx.settings.login_events_page_size
        raw_events: list[dict[str, Any]] = []
        for page in range(MAX_PAGES_PER_ROUND):
            batch = await ctx.keycloak.events(
                date_from_ms=cursor.high_water_ms,
                first=page * page_size,
                max_results=page_size,
                types=PUBLISHED_TYPES,
            )
            raw_events.extend(batch)
            if len(batch) < page_size:
                break
        fresh = [raw for raw in raw_events if cursor.is_new(raw)]
        fresh.sort(key=lambda raw: int(raw.get("time") or 0))
        parsed = [event for raw in fresh if (event := parse(raw)) is not None]
        known = await account_repo.by_keycloak_ids(session, (e.user_id for e in parsed if e.user_id))
        for event in parsed:
            account = known.get(event.user_id) if event.user_id else None
            contract = event.contract_event(username_fallback=account.username if account else None)
            if contract is None:
                continue
            if not await repo.store(session, event, contract.TYPE, account.id if account else None):
                continue  # handled before (a re-read): already published
            if not isinstance(contract, AuthLoginFailed) or await _within_burst(ctx, session, event, contract):
                uow.publish(contract, event_id=event_id(event.key), time=event.occurred_at)
                published += 1
            if account is not None:
                _apply_to_account(account, event)
        published += await _publish_summaries(uow)
        await repo.save_cursor(session, cursor.advance(fresh))
        await uow.commit()
    if published:
        log.info("sign-in events published", count=published)
    return published


def _apply_to_account(account: AccountRow, event: SignInEvent) -> None:
    if event.keycloak_type == "LOGIN":
        if account.last_login_at is None or account.last_login_at < event.occurred_at:
            account.last_login_at = event.occurred_at
    elif (
        event.keycloak_type in ("UPDATE_PASSWORD", "UPDATE_CREDENTIAL")
        and account.status == AccountStatus.PENDING_FIRST_LOGIN.value
    ):
        change_status(account, AccountStatus.ACTIVE, "password changed by the holder")


async def _within_burst(
    ctx: IdentityContext, session: AsyncSession, event: SignInEvent, contract: AuthLoginFailed
) -> bool:
    """Count a failed login; True if it is among the first of its window, to be published one by one."""
    settings = ctx.settings
    return await repo.count_failure(
        session,
        event,
        caller=failure_caller(event),
        window=window_of(event.occurred_at, settings.login_failures_window_seconds),
        burst=settings.login_failures_burst,
        username=contract.username,
    )


async def _publish_summaries(uow: UnitOfWork) -> int:
    """One summary for each ended window that counted failures beyond its burst."""
    published = 0
    for window in await repo.close_failure_windows(uow.session):
        beyond = window.failures - window.burst
        if beyond <= 0:
            continue
        summary = AuthLoginFailedSummary(
            window_start=window.window_start,
            window_end=window.window_end,
            count=beyond,
            individually_published=window.burst,
            errors=dict(window.errors),
            first_failed_at=window.first_counted_at,
            last_failed_at=window.last_failed_at,
            user_id=window.user_id,
            username=window.username,
            ip_address=window.ip_address,
            client_id=window.client_id,
        )
        uow.publish(summary, time=window.last_failed_at)
        published += 1
    return published
