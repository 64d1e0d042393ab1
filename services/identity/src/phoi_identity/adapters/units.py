"""Queries on units."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_identity.models import UnitRow


async def get(session: AsyncSession, code: str, *, for_update: bool = False) -> UnitRow | None:
    stmt = select(UnitRow).where(UnitRow.code == code)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def exists(session: AsyncSession, code: str) -> bool:
    return (await session.execute(select(UnitRow.id).where(UnitRow.code == code))).first() is not None


async def page(
    session: AsyncSession,
    *,
    limit: int,
    after_code: str | None = None,
    only_code: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    parent_code: str | None = None,
) -> list[UnitRow]:
    stmt = select(UnitRow).order_by(UnitRow.code).limit(limit)
    if after_code is not None:
        stmt = stmt.where(UnitRow.code > after_code)
    if only_code is not None:
        stmt = stmt.where(UnitRow.code == only_code)
    if status is not None:
        stmt = stmt.where(UnitRow.status == status)
    if kind is not None:
        stmt = stmt.where(UnitRow.kind == kind)
    if parent_code is not None:
        stmt = stmt.where(UnitRow.parent_code == parent_code)
    return list((await session.execute(stmt)).scalars())


async def ancestors(session: AsyncSession, code: str) -> list[str]:
    """The codes above `code`: its parent, the parent's parent, ... (stops on a cycle)."""
    rows = await session.execute(
        text(
            """
            WITH RECURSIVE up(code, parent_code, depth) AS (
                SELECT code, parent_code, 0 FROM units WHERE code = :code
                UNION ALL
                SELECT u.code, u.parent_code, up.depth + 1
                FROM units u JOIN up ON u.code = up.parent_code
                WHERE up.depth < 64
            )
            SELECT code FROM up WHERE depth > 0 ORDER BY depth
            """
        ),
        {"code": code},
    )
    return [r[0] for r in rows]
