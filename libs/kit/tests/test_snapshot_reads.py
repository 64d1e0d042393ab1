"""A read sees one moment of the database: every statement of a GET's transaction sees what its first one
saw, so an aggregate read in several SELECTs is never torn by a commit landing between them (the load
benchmark met a request whose version was from before its allocation and whose ranges were from after).
A write keeps READ COMMITTED: each statement sees what is committed, and row locks order the writers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from phoi_kit.app import UoW
from sqlalchemy import text

twice = APIRouter(prefix="/api/v1")


@dataclass
class Between:
    """Where the route waits between its two reads, so the test commits exactly there."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    resume: asyncio.Event = field(default_factory=asyncio.Event)


between = Between()


async def read_twice(uow: UoW) -> dict[str, int]:
    query = text("SELECT applied FROM effects WHERE key = 'k'")
    first = int((await uow.session.execute(query)).scalar_one())
    between.reached.set()
    await between.resume.wait()
    second = int((await uow.session.execute(query)).scalar_one())
    return {"first": first, "second": second}


twice.add_api_route("/twice", read_twice, methods=["GET", "POST"])


async def read_across_a_commit(kit_app: Any, token_for: Any, method: str) -> dict[str, int]:
    global between
    between = Between()
    async with kit_app([twice]) as (client, db, _prefix):
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE effects (key text PRIMARY KEY, applied int NOT NULL)"))
            await conn.execute(text("INSERT INTO effects VALUES ('k', 1)"))
        call = asyncio.create_task(client.request(method, "/api/v1/twice", headers=token_for("auditor").headers))
        await asyncio.wait_for(between.reached.wait(), timeout=30)
        async with db.engine.begin() as conn:  # another writer commits between the route's two reads
            await conn.execute(text("UPDATE effects SET applied = 2 WHERE key = 'k'"))
        between.resume.set()
        response = await call
        assert response.status_code == 200, response.text
        seen: dict[str, int] = response.json()
        return seen


async def test_a_get_reads_one_snapshot(kit_app: Any, token_for: Any) -> None:
    assert await read_across_a_commit(kit_app, token_for, "GET") == {"first": 1, "second": 1}


async def test_a_write_reads_what_is_committed(kit_app: Any, token_for: Any) -> None:
    assert await read_across_a_commit(kit_app, token_for, "POST") == {"first": 1, "second": 2}
