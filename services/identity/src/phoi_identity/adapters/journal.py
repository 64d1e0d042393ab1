"""The Keycloak journal: user creations in flight, each in its own committed transaction.

`begin` is committed *before* Keycloak is called; `end` after the account row is committed or the
creation compensated. An entry that outlives its request (a crash, a failed compensation) is what
reconciliation looks at to find a Keycloak user without an account.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from phoi_kit.db import Database
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_identity.models import KeycloakJournalRow

CREATE_USER = "create_user"


async def begin(database: Database, *, operation: str, username: str) -> uuid.UUID:
    entry_id = uuid.uuid4()
    async with database.session() as session:
        session.add(KeycloakJournalRow(id=entry_id, operation=operation, username=username))
        await session.commit()
    return entry_id


async def end(database: Database, entry_id: uuid.UUID) -> None:
    async with database.session() as session:
        await session.execute(delete(KeycloakJournalRow).where(KeycloakJournalRow.id == entry_id))
        await session.commit()


async def older_than(session: AsyncSession, cutoff: datetime) -> list[KeycloakJournalRow]:
    stmt = (
        select(KeycloakJournalRow)
        .where(KeycloakJournalRow.started_at < cutoff)
        .order_by(KeycloakJournalRow.started_at)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def remove(session: AsyncSession, entry_id: uuid.UUID) -> None:
    await session.execute(delete(KeycloakJournalRow).where(KeycloakJournalRow.id == entry_id))
