"""Every query on the portal's session table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_portal.domain.session import Session, Tokens
from phoi_portal.models import sessions


def _from_row(row: object) -> Session:
    m = row._mapping  # type: ignore[attr-defined]
    return Session(
        id_hash=m["id_hash"],
        user_id=m["user_id"],
        username=m["username"],
        full_name=m["full_name"],
        unit_code=m["unit_code"],
        roles=frozenset(m["roles"]),
        tokens=Tokens(m["access_token"], m["refresh_token"], m["id_token"], m["access_expires_at"]),
        created_at=m["created_at"],
        last_seen_at=m["last_seen_at"],
    )


class SessionRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def add(self, s: Session) -> None:
        await self.db.execute(
            insert(sessions).values(
                id_hash=s.id_hash,
                user_id=s.user_id,
                username=s.username,
                full_name=s.full_name,
                unit_code=s.unit_code,
                roles=sorted(s.roles),
                access_token=s.tokens.access_token,
                refresh_token=s.tokens.refresh_token,
                id_token=s.tokens.id_token,
                access_expires_at=s.tokens.access_expires_at,
                created_at=s.created_at,
                last_seen_at=s.last_seen_at,
            )
        )

    async def get(self, id_hash: str) -> Session | None:
        row = (await self.db.execute(select(sessions).where(sessions.c.id_hash == id_hash))).first()
        return _from_row(row) if row else None

    async def touch(self, id_hash: str, now: datetime) -> None:
        await self.db.execute(update(sessions).where(sessions.c.id_hash == id_hash).values(last_seen_at=now))

    async def store_tokens(self, id_hash: str, tokens: Tokens) -> None:
        await self.db.execute(
            update(sessions)
            .where(sessions.c.id_hash == id_hash)
            .values(
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                id_token=tokens.id_token,
                access_expires_at=tokens.access_expires_at,
            )
        )

    async def remove(self, id_hash: str) -> None:
        await self.db.execute(delete(sessions).where(sessions.c.id_hash == id_hash))

    async def remove_for_user(self, user_id: str) -> int:
        result = await self.db.execute(delete(sessions).where(sessions.c.user_id == user_id))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def count_for_user(self, user_id: str) -> int:
        rows = await self.db.execute(select(sessions.c.id_hash).where(sessions.c.user_id == user_id))
        return len(rows.all())
