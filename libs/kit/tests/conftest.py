from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from phoi_kit.db import Database
from phoi_kit.migrations import install_kit_schema
from sqlalchemy import text

EFFECTS_DDL = "CREATE TABLE effects (key text PRIMARY KEY, applied int NOT NULL)"


@pytest.fixture
async def kit_db(make_database: Callable[[str], str]) -> AsyncIterator[Database]:
    """A fresh database with the kit's tables, plus `effects`, a table test handlers write to."""
    database = Database(make_database("kit"), pool_size=5)
    async with database.engine.begin() as conn:
        await conn.run_sync(install_kit_schema)
        await conn.execute(text(EFFECTS_DDL))
    yield database
    await database.dispose()
