"""A flood of refused calls against a service, recorded end to end on the real broker and PostgreSQL:
inventory counts the refusals (a burst one by one, the rest in a summary per window), its outbox drains,
and the audit log records both kinds, adding up to every refusal, with its chain intact. Before the
counting, every refusal was an outbox row, a message and an audit entry (1,947 in 15 seconds)."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from typing import Any

import httpx
from phoi_local.testkit import wait_for
from sqlalchemy import text

FLOOD = 500
CONCURRENT = 25
BURST = 5
WINDOW_SECONDS = 2
ONE = "security.access_denied.v1"
SUMMARY = "security.access_denied_summary.v1"


async def scalar(svc: Any, sql: str) -> int:
    async with svc.runtime.database.session() as session:
        return int((await session.execute(text(sql))).scalar_one())


async def refuse_many(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """FLOOD calls the caller may not make, CONCURRENT at a time; each is refused the same way."""
    for _ in range(FLOOD // CONCURRENT):
        answers = await asyncio.gather(
            *(client.get("/api/v1/print-batches", headers=headers) for _ in range(CONCURRENT))
        )
        assert {(a.status_code, a.json()["code"]) for a in answers} == {(403, "role_required")}


async def audit_entries(client: httpx.AsyncClient, headers: dict[str, str], actor: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"actor": actor, "type": "security.*", "limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/entries", params=params, headers=headers)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_a_flood_of_refused_calls_is_recorded_at_a_bounded_cost(service_app: Any, token_for: Any) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    counting = {
        "access_denied_burst": BURST,
        "access_denied_window_seconds": WINDOW_SECONDS,
        "access_denied_sweep_seconds": 0.2,
    }
    unit = token_for("unit_account", unit_code="SGD-FLOOD")
    auditor = token_for("auditor").headers
    async with (
        service_app("inventory", topic_prefix=prefix, **counting) as inventory,
        service_app("audit", topic_prefix=prefix) as audit,
    ):
        started = time.monotonic()
        await refuse_many(inventory.client, unit.headers)
        windows_touched = math.ceil((time.monotonic() - started) / WINDOW_SECONDS) + 1

        async def drained() -> bool:  # every window closed and its summary on the broker
            open_windows = await scalar(inventory, "SELECT count(*) FROM access_refusals")
            pending = await scalar(inventory, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
            return open_windows == 0 and pending == 0

        await wait_for(drained, timeout=30, what="refusal windows closed and the outbox drained")
        written = await scalar(inventory, f"SELECT count(*) FROM outbox WHERE type IN ('{ONE}', '{SUMMARY}')")
        assert written <= (BURST + 1) * windows_touched  # a burst and a summary per window
        assert written < FLOOD / 5  # one row per refusal before

        async def all_recorded() -> bool:
            return len(await audit_entries(audit.client, auditor, unit.user_id)) == written

        await wait_for(all_recorded, timeout=30, what="the audit log records every refusal event")
        entries = await audit_entries(audit.client, auditor, unit.user_id)
        one_by_one = [e for e in entries if e["type"] == ONE]
        summaries = [e for e in entries if e["type"] == SUMMARY]
        assert len(one_by_one) + sum(e["payload"]["count"] for e in summaries) == FLOOD
        for summary in summaries:  # about the caller and its unit, so the unit sees its own refusals
            assert summary["unit_code"] == "SGD-FLOOD"
            assert summary["actor"]["username"] == unit.username
            assert summary["payload"]["reasons"] == {"role_required": summary["payload"]["count"]}
            assert summary["payload"]["last_path"] == "/api/v1/print-batches"
        verified = (await audit.client.get("/api/v1/verify", headers=auditor)).json()
        assert verified["ok"] is True
        assert verified["checked_count"] >= written
