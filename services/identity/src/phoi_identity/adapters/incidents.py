"""Queries on access incidents."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_identity.models import IncidentRow

PUBLIC = "public"
# One lock for the public intake, across replicas: the rate-limit counts and the insert happen under it,
# so two reports racing from one address cannot both pass the last free slot.
_PUBLIC_INTAKE_LOCK = "phoi_identity.public_access_reports"


async def get(session: AsyncSession, incident_id: uuid.UUID, *, for_update: bool = False) -> IncidentRow | None:
    stmt = select(IncidentRow).where(IncidentRow.id == incident_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def open_for_account(session: AsyncSession, account_id: uuid.UUID) -> list[IncidentRow]:
    stmt = (
        select(IncidentRow)
        .where(IncidentRow.account_id == account_id, IncidentRow.status == "open")
        .order_by(IncidentRow.reported_at)
    )
    return list((await session.execute(stmt)).scalars())


async def lock_public_intake(session: AsyncSession) -> None:
    """Held until the transaction ends."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(_PUBLIC_INTAKE_LOCK))))


async def public_reported_since(
    session: AsyncSession, since: datetime, *, limit: int, address: str | None = None
) -> list[datetime]:
    """When the newest public reports after `since` (from `address`, or from anywhere) were made,
    newest first, at most `limit` of them."""
    stmt = (
        select(IncidentRow.reported_at)
        .where(IncidentRow.source == PUBLIC, IncidentRow.reported_at > since)
        .order_by(IncidentRow.reported_at.desc())
        .limit(limit)
    )
    if address is not None:
        stmt = stmt.where(IncidentRow.reporter_address == address)
    return list((await session.execute(stmt)).scalars())


async def page(
    session: AsyncSession,
    *,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None = None,
    status: str | None = None,
    kind: str | None = None,
    account_id: uuid.UUID | None = None,
    unit_code: str | None = None,
    source: str | None = None,
    reference: str | None = None,
    visible_to_unit: str | None = None,
    reported_by: str | None = None,
) -> list[IncidentRow]:
    """Newest first. `visible_to_unit` and `reported_by` confine the list to what a unit or a reporter
    may see: public reports are for QLCL and auditors only."""
    stmt = select(IncidentRow).order_by(IncidentRow.reported_at.desc(), IncidentRow.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(tuple_(IncidentRow.reported_at, IncidentRow.id) < tuple_(*before))
    if status is not None:
        stmt = stmt.where(IncidentRow.status == status)
    if kind is not None:
        stmt = stmt.where(IncidentRow.kind == kind)
    if account_id is not None:
        stmt = stmt.where(IncidentRow.account_id == account_id)
    if unit_code is not None:
        stmt = stmt.where(IncidentRow.unit_code == unit_code)
    if source is not None:
        stmt = stmt.where(IncidentRow.source == source)
    if reference is not None:
        stmt = stmt.where(IncidentRow.reference == reference)
    if visible_to_unit is not None:
        stmt = stmt.where(
            or_(IncidentRow.unit_code == visible_to_unit, IncidentRow.reported_by_unit == visible_to_unit),
            IncidentRow.source != PUBLIC,
        )
    if reported_by is not None:
        stmt = stmt.where(IncidentRow.reported_by_user_id == reported_by, IncidentRow.source != PUBLIC)
    return list((await session.execute(stmt)).scalars())
