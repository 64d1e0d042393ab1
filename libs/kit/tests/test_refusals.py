"""Refused calls counted per caller and window, on real PostgreSQL: a burst published one by one, the
rest summarised, and every refusal in exactly one of the two — across replicas."""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

from phoi_kit.auth import CurrentUser, Role
from phoi_kit.db import Database
from phoi_kit.refusals import Refusal, RefusalLimits, close_windows, count_refusal
from phoi_kit.uow import UnitOfWork
from phoi_local.testkit import wait_for
from sqlalchemy import text

TOPIC = "phoi.inventory"
SOURCE = "/phoi/inventory"
UNIT_USER = CurrentUser(
    user_id="u-1",
    username="sgd-hni",
    roles=frozenset({Role.UNIT_ACCOUNT}),
    unit_code="SGD-HNI",
    session_id=None,
    issued_at=0,
)


def refusal(user: CurrentUser | None = UNIT_USER, reason: str = "role_required", ip: str = "203.0.113.7") -> Refusal:
    return Refusal(
        service="inventory", method="POST", path="/api/v1/print-batches", reason=reason, user=user, ip_address=ip
    )


async def refuse(db: Database, limits: RefusalLimits, one: Refusal) -> None:
    async with db.session() as session:
        uow = UnitOfWork(session, source=SOURCE)
        await count_refusal(uow, one, limits, topic=TOPIC)
        await uow.commit()


async def sweep(db: Database) -> int:
    async with db.session() as session:
        uow = UnitOfWork(session, source=SOURCE)
        published = await close_windows(uow, service="inventory", topic=TOPIC)
        await uow.commit()
        return published


async def outbox(db: Database) -> list[dict[str, Any]]:
    async with db.session() as session:
        rows = await session.execute(text("SELECT payload FROM outbox ORDER BY id"))
        return [json.loads(payload) for payload in rows.scalars()]


async def open_windows(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(text("SELECT count(*) FROM access_refusals"))).scalar_one())


async def test_two_replicas_count_every_refusal_once(kit_db: Database) -> None:
    replica = Database(kit_db.url, pool_size=5)  # a second replica on the same database
    limits = RefusalLimits(burst=3, window_seconds=1)
    refusals = 120
    try:
        calls = [refuse(kit_db if n % 2 else replica, limits, refusal()) for n in range(refusals)]
        calls.append(refuse(kit_db, limits, refusal(user=None, reason="not_signed_in")))
        started = time.monotonic()
        await asyncio.gather(*calls)
        windows_touched = math.ceil((time.monotonic() - started) / limits.window_seconds) + 1

        async def all_closed() -> bool:
            await sweep(replica)
            return await open_windows(kit_db) == 0

        await wait_for(all_closed, timeout=10, what="every window closed")
    finally:
        await replica.dispose()
    events = await outbox(kit_db)
    ones = [e for e in events if e["type"] == "security.access_denied.v1" and e["data"]["user_id"] == "u-1"]
    summaries = [e for e in events if e["type"] == "security.access_denied_summary.v1"]
    assert len(ones) + sum(s["data"]["count"] for s in summaries) == refusals
    windows = {s["data"]["window_start"] for s in summaries}
    assert len(windows) == len(summaries)  # one summary per window
    assert len(ones) <= limits.burst * windows_touched  # a burst per window, not a row per call
    for summary in summaries:
        data = summary["data"]
        assert data["individually_recorded"] == limits.burst
        assert data["reasons"] == {"role_required": data["count"]}
        assert (data["user_id"], data["unit_code"], data["last_path"]) == ("u-1", "SGD-HNI", "/api/v1/print-batches")
        assert (summary["actorid"], summary["actorrole"]) == ("u-1", "unit_account")
        assert summary["subject"] == "u-1"
    # a caller without a token is counted by its address, apart from the user
    anonymous = [e for e in events if e["type"] == "security.access_denied.v1" and e["data"]["user_id"] is None]
    assert [e["data"]["reason"] for e in anonymous] == ["not_signed_in"]


async def test_the_next_refusal_after_a_window_closes_publishes_its_summary(kit_db: Database) -> None:
    async with kit_db.session() as session:
        await session.execute(
            text(
                "INSERT INTO access_refusals (caller, window_start, window_end, burst, refusals, reasons, user_id,"
                " username, role, unit_code, ip_address, last_method, last_path, last_refused_at) VALUES"
                " ('user:u-1', now() - interval '2 minutes', now() - interval '1 minute', 2, 9,"
                " '{\"role_required\": 4, \"other_unit\": 3}', 'u-1', 'sgd-hni', 'unit_account', 'SGD-HNI',"
                " '203.0.113.7', 'GET', '/api/v1/stock', now() - interval '90 seconds')"
            )
        )
        await session.commit()
    await refuse(kit_db, RefusalLimits(burst=2, window_seconds=60), refusal())
    events = await outbox(kit_db)
    assert [e["type"] for e in events] == ["security.access_denied_summary.v1", "security.access_denied.v1"]
    summary = events[0]["data"]
    assert (summary["count"], summary["individually_recorded"]) == (7, 2)
    assert summary["reasons"] == {"role_required": 4, "other_unit": 3}
    assert summary["last_path"] == "/api/v1/stock"
    assert await open_windows(kit_db) == 1  # the new window only
    assert await sweep(kit_db) == 0  # nothing closed is left


async def test_a_window_within_its_burst_closes_without_a_summary(kit_db: Database) -> None:
    limits = RefusalLimits(burst=5, window_seconds=1)
    for _ in range(2):
        await refuse(kit_db, limits, refusal(user=None, ip="198.51.100.9"))

    async def closed() -> bool:
        await sweep(kit_db)
        return await open_windows(kit_db) == 0

    await wait_for(closed, timeout=5, what="window closed")
    assert [e["type"] for e in await outbox(kit_db)] == ["security.access_denied.v1"] * 2
