"""Queries on accounts and their chain of holders."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_identity.models import AccountRow, HolderRow


async def get(session: AsyncSession, account_id: uuid.UUID, *, for_update: bool = False) -> AccountRow | None:
    stmt = select(AccountRow).where(AccountRow.id == account_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_keycloak_id(session: AsyncSession, user_id: str) -> AccountRow | None:
    stmt = select(AccountRow).where(AccountRow.keycloak_user_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_username(session: AsyncSession, username: str) -> AccountRow | None:
    stmt = select(AccountRow).where(AccountRow.username == username)
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_keycloak_ids(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, AccountRow]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = (await session.execute(select(AccountRow).where(AccountRow.keycloak_user_id.in_(ids)))).scalars()
    return {row.keycloak_user_id: row for row in rows}


async def live_unit_account(session: AsyncSession, unit_code: str) -> AccountRow | None:
    stmt = select(AccountRow).where(
        AccountRow.unit_code == unit_code, AccountRow.kind == "unit", AccountRow.status != "disabled"
    )
    return (await session.execute(stmt)).scalar_one_or_none()


# The same key as the constraint trigger ``accounts_keep_an_administrator`` (migration 0004) takes.
ADMINISTRATORS_LOCK = "phoi_identity.administrators"
LIVE_STATUSES = ("pending_first_login", "active")


async def lock_administrators(session: AsyncSession) -> None:
    """Serialise changes that may take an administrator out of service, until the transaction ends.

    Taken after the account's row lock (never before it), so two administrators locking each other
    queue here: the second counts again once the first has committed, and sees it (READ COMMITTED
    reads afresh per statement)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(ADMINISTRATORS_LOCK))))


async def live_administrators_besides(session: AsyncSession, account_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(
        AccountRow.role == "qlcl_admin", AccountRow.status.in_(LIVE_STATUSES), AccountRow.id != account_id
    )
    return int((await session.execute(stmt)).scalar_one())


async def of_unit(session: AsyncSession, unit_code: str, *, for_update: bool = False) -> list[AccountRow]:
    stmt = select(AccountRow).where(AccountRow.unit_code == unit_code).order_by(AccountRow.created_at)
    if for_update:
        stmt = stmt.with_for_update()
    return list((await session.execute(stmt)).scalars())


async def all_ids(session: AsyncSession) -> list[uuid.UUID]:
    return list((await session.execute(select(AccountRow.id).order_by(AccountRow.created_at))).scalars())


async def all_accounts(session: AsyncSession) -> list[AccountRow]:
    return list((await session.execute(select(AccountRow).order_by(AccountRow.created_at))).scalars())


async def page(
    session: AsyncSession,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
    unit_code: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    role: str | None = None,
) -> list[AccountRow]:
    stmt = select(AccountRow).order_by(AccountRow.created_at, AccountRow.id).limit(limit)
    if after is not None:
        stmt = stmt.where(tuple_(AccountRow.created_at, AccountRow.id) > tuple_(*after))
    if unit_code is not None:
        stmt = stmt.where(AccountRow.unit_code == unit_code)
    if status is not None:
        stmt = stmt.where(AccountRow.status == status)
    if kind is not None:
        stmt = stmt.where(AccountRow.kind == kind)
    if role is not None:
        stmt = stmt.where(AccountRow.role == role)
    return list((await session.execute(stmt)).scalars())


# --- holders ---------------------------------------------------------------------------------------
async def current_holder(session: AsyncSession, account_id: uuid.UUID) -> HolderRow | None:
    stmt = select(HolderRow).where(HolderRow.account_id == account_id, HolderRow.held_to.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()


async def holders(session: AsyncSession, account_id: uuid.UUID) -> list[HolderRow]:
    stmt = select(HolderRow).where(HolderRow.account_id == account_id).order_by(HolderRow.seq)
    return list((await session.execute(stmt)).scalars())


async def next_holder_seq(session: AsyncSession, account_id: uuid.UUID) -> int:
    stmt = select(func.coalesce(func.max(HolderRow.seq), 0)).where(HolderRow.account_id == account_id)
    return int((await session.execute(stmt)).scalar_one()) + 1
