from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from phoi_contracts import topics
from phoi_kit.app import ServiceSpec, create_service_app
from phoi_kit.db import Database, asyncpg_url
from phoi_kit.kafka import ensure_topics, with_dead_letters
from phoi_kit.migrations import install_kit_schema
from phoi_kit.settings import ServiceSettings
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


KitService = tuple[httpx.AsyncClient, Database, str]


@pytest.fixture
def kit_app(
    make_database: Callable[[str], str], broker: Any, keycloak: Any, unique: Callable[[str], str]
) -> Callable[[list[APIRouter]], contextlib.AbstractAsyncContextManager[KitService]]:
    """Factory: the kit's real app serving `routers`, running (lifespan) on a fresh database with the kit's
    tables, the session's broker under a private topic prefix and the Keycloak stand-in; yields an HTTP
    client, the database and the topic prefix."""

    @contextlib.asynccontextmanager
    async def run(routers: list[APIRouter]) -> AsyncIterator[KitService]:
        url = make_database("kitapp")
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(install_kit_schema)
        prefix = unique("t") + "."
        await ensure_topics(broker.bootstrap, [prefix + t for t in with_dead_letters(topics.ALL)])
        settings = ServiceSettings(
            service_name="kittest",
            database_url=asyncpg_url(url),
            kafka_bootstrap=broker.bootstrap,
            keycloak_url=keycloak.base_url,
            topic_prefix=prefix,
            consumer_group_id=unique("g"),
            consumer_session_timeout_ms=3000,
            consumer_heartbeat_interval_ms=500,
        )
        app = create_service_app(ServiceSpec(settings=settings, title="kit test", routers=routers, topic=topics.AUDIT))
        transport = httpx.ASGITransport(app=app)
        try:
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://kit.test") as client,
            ):
                yield client, db, prefix
        finally:
            await db.dispose()

    return run
