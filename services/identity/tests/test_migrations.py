"""The migrations create exactly what the models describe, and downgrade cleanly."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from phoi_identity.migrate import MIGRATIONS
from phoi_identity.models import Base
from phoi_kit.db import asyncpg_url
from phoi_kit.migrations import upgrade
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import create_async_engine

KIT_TABLES = {"outbox", "processed_events", "token_revocations"}


def _table_of(diff: Any) -> str | None:
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item if isinstance(item, tuple) else [item]:
            table = getattr(part, "table", None)
            if table is not None and hasattr(table, "name"):
                return str(table.name)
            if hasattr(part, "name") and hasattr(part, "columns") and hasattr(part, "metadata"):
                return str(part.name)
    return None


def _diff(connection: Any) -> list[Any]:
    """Differences in this service's tables (the kit's own tables are the kit's business)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if _table_of(d) not in KIT_TABLES]


async def test_models_match_the_migrations(make_database: Any) -> None:
    url = make_database("identity_migrations")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    engine = create_async_engine(asyncpg_url(url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
        await asyncio.to_thread(upgrade_to, url, "0001")
        async with engine.connect() as connection:
            tables = (
                await connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            ).scalars()
            assert set(tables) == {"outbox", "processed_events", "token_revocations", "alembic_version"}
    finally:
        await engine.dispose()


def upgrade_to(url: str, revision: str) -> None:
    from alembic import command
    from phoi_kit.migrations import alembic_config

    command.downgrade(alembic_config(MIGRATIONS, url), revision)
