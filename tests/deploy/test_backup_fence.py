"""The write fence that makes a one-machine backup one instant of every database (phoi_local.backup, D39):
while it is held no service can commit a change (every change writes `outbox` or `processed_events`) yet
readers go on; it never waits behind a writer (it would risk a deadlock) but tries again, and gives up
with a clear error when the databases stay busy."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest
from phoi_local.backup import BackupError, fence_writes, table_counts

TABLES = (
    "CREATE TABLE outbox (id bigserial PRIMARY KEY, published_at timestamptz)",
    "CREATE TABLE processed_events (event_id text PRIMARY KEY)",
)


@pytest.fixture
async def databases(make_database: Callable[[str], str]) -> dict[str, str]:
    urls = {"producer": make_database("fence"), "consumer": make_database("fence")}
    for url in urls.values():
        connection = await asyncpg.connect(url)
        try:
            for statement in TABLES:
                await connection.execute(statement)
        finally:
            await connection.close()
    return urls


async def test_while_the_fence_holds_no_change_commits_and_reads_go_on(databases: dict[str, str]) -> None:
    writer = await asyncpg.connect(databases["consumer"])
    try:
        fence = await fence_writes(databases, timeout=10)
        try:
            await writer.execute("SET lock_timeout = '200ms'")
            with pytest.raises(asyncpg.LockNotAvailableError):
                await writer.execute("INSERT INTO processed_events VALUES ('e1')")
            assert await writer.fetchval("SELECT count(*) FROM outbox") == 0
        finally:
            await fence.release()
        await writer.execute("INSERT INTO processed_events VALUES ('e1')")
    finally:
        await writer.close()


async def test_the_fence_gives_way_to_an_open_writer_and_sees_its_commit(databases: dict[str, str]) -> None:
    writer = await asyncpg.connect(databases["producer"])
    try:
        transaction = writer.transaction()
        await transaction.start()
        await writer.execute("INSERT INTO outbox DEFAULT VALUES")
        with pytest.raises(BackupError, match="stayed busy"):
            await fence_writes(databases, timeout=0.3)
        await transaction.commit()
        fence = await fence_writes(databases, timeout=10)
        try:
            counts = await table_counts(fence.connections["producer"])
        finally:
            await fence.release()
        assert counts == {"outbox": 1, "processed_events": 0}
    finally:
        await writer.close()
