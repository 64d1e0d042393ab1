"""Sign-in activity: read Keycloak's login events, keep them, publish them as ``auth.*`` events.

One round (`poll_once`) runs in one transaction that holds the high-water-mark row (``FOR UPDATE SKIP
LOCKED``: with several replicas, one polls at a time and the others skip the round). The stored
events, the outbox rows and the new high-water mark commit together, so a crash re-reads from the old
mark and the stored keys (and the deterministic envelope ids) keep every event published once.
Side effects on accounts: a ``LOGIN`` sets ``last_login_at``; a password change moves a
``pending_first_login`` account to ``active``.
"""

from __future__ import annotations

import time
from typing import Any

from phoi_contracts.envelope import SYSTEM_ACTOR
from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork
from sqlalchemy.dialects.postgresql import insert as pg_insert

from phoi_identity.adapters import accounts as account_repo
from phoi_identity.adapters import sign_in as repo
from phoi_identity.domain.accounts import AccountStatus
from phoi_identity.domain.sign_in import PUBLISHED_TYPES, event_id, parse
from phoi_identity.models import LoginEventCursorRow
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
            uow.publish(contract, event_id=event_id(event.key), time=event.occurred_at)
            published += 1
            if account is None:
                continue
            if event.keycloak_type == "LOGIN":
                if account.last_login_at is None or account.last_login_at < event.occurred_at:
                    account.last_login_at = event.occurred_at
            elif (
                event.keycloak_type in ("UPDATE_PASSWORD", "UPDATE_CREDENTIAL")
                and account.status == AccountStatus.PENDING_FIRST_LOGIN.value
            ):
                change_status(account, AccountStatus.ACTIVE, "password changed by the holder")
        await repo.save_cursor(session, cursor.advance(fresh))
        await uow.commit()
    if published:
        log.info("sign-in events published", count=published)
    return published
