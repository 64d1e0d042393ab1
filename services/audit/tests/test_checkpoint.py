"""The periodic checkpoint: published on phoi.audit when there is something new and intact, never over a
broken chain; and the background full verification feeds the failure metric."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from phoi_contracts.envelope import Envelope
from phoi_local.testkit import cloudevent_from_json, wait_for
from sqlalchemy import text

INTERVAL = 0.2


async def checkpoints(svc: Any) -> list[dict[str, Any]]:
    async with svc.runtime.database.session() as s:
        rows = (
            await s.execute(text("SELECT topic, payload FROM outbox WHERE type = 'audit.checkpoint.v1' ORDER BY id"))
        ).all()
    assert {row.topic for row in rows} <= {"phoi.audit"}
    for row in rows:  # the relay publishes these bytes: a CloudEvent to the CloudEvents SDK
        cloudevent_from_json(row.payload.encode())
    return [Envelope.model_validate_json(row.payload).data for row in rows]


async def entry(svc: Any, sequence: int) -> Any:
    async with svc.runtime.database.session() as s:
        return (await s.execute(text("SELECT * FROM audit_entries WHERE sequence = :s"), {"s": sequence})).one()


def metric(body: str, name: str) -> float:
    match = re.search(rf'^{name}\{{service="audit"\}} (\S+)$', body, re.MULTILINE)
    assert match, name
    return float(match.group(1))


async def test_checkpoints_certify_new_intact_entries_only(
    audit: Any, record_all: Any, make_envelope: Any, superuser: Any
) -> None:
    async with audit(checkpoint_seconds=INTERVAL) as svc, superuser(svc) as conn:
        await asyncio.sleep(INTERVAL * 3)
        assert await checkpoints(svc) == []  # an empty log is not certified

        await record_all(svc, [make_envelope(n) for n in range(1, 6)])
        await wait_for(lambda: _count(svc, 1), timeout=10, what="the first checkpoint")
        [first] = await checkpoints(svc)
        fifth = await entry(svc, 5)
        assert (first["latest_sequence"], first["latest_hash"], first["entry_count"]) == (5, fifth.hash, 5)
        assert first["hash_algorithm"] == "sha256"
        recorded = await entry(svc, 6)  # the checkpoint is itself in the log, as system fact
        assert (recorded.type, recorded.actor_username, recorded.unit_code) == ("audit.checkpoint.v1", "system", None)

        await asyncio.sleep(INTERVAL * 4)
        assert len(await checkpoints(svc)) == 1  # nothing new since (but the checkpoint itself)

        await record_all(svc, [make_envelope(n) for n in range(7, 9)])
        await wait_for(lambda: _count(svc, 2), timeout=10, what="the second checkpoint")
        second = (await checkpoints(svc))[1]
        assert (second["latest_sequence"], second["latest_hash"]) == (8, (await entry(svc, 8)).hash)
        # the relay publishes it
        await wait_for(lambda: _published(svc), timeout=10, what="the checkpoints to leave the outbox")

        # tamper with an entry the last checkpoint does not cover (9, that checkpoint's own entry), add a
        # new one: the next round finds the break and publishes nothing
        failures = metric((await svc.client.get("/metrics")).text, "audit_verify_failures_total")
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("UPDATE audit_entries SET actor_username = 'admin' WHERE sequence = 9")
        await record_all(svc, [make_envelope(10)])
        body = ""
        for _ in range(50):
            body = (await svc.client.get("/metrics")).text
            if metric(body, "audit_verify_failures_total") > failures:
                break
            await asyncio.sleep(INTERVAL)
        assert metric(body, "audit_verify_failures_total") > failures
        await asyncio.sleep(INTERVAL * 2)
        assert len(await checkpoints(svc)) == 2


async def _count(svc: Any, n: int) -> bool:
    return len(await checkpoints(svc)) >= n


async def _published(svc: Any) -> bool:
    async with svc.runtime.database.session() as s:
        pending = (await s.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar_one()
    return bool(pending == 0)


async def test_background_verification_reports_the_chain(
    audit: Any, record_all: Any, make_envelope: Any, superuser: Any
) -> None:
    async with audit(verify_seconds=INTERVAL) as svc, superuser(svc) as conn:
        await record_all(svc, [make_envelope(n) for n in range(1, 4)])
        await wait_for(lambda: _verified(svc, 3), timeout=10, what="a background verification")
        failures = metric((await svc.client.get("/metrics")).text, "audit_verify_failures_total")
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("DELETE FROM audit_entries WHERE sequence = 2")
        await wait_for(lambda: _failed_more(svc, failures), timeout=10, what="the failure to be counted")


async def _verified(svc: Any, sequence: int) -> bool:
    return metric((await svc.client.get("/metrics")).text, "audit_verified_sequence") >= sequence


async def _failed_more(svc: Any, before: float) -> bool:
    return metric((await svc.client.get("/metrics")).text, "audit_verify_failures_total") > before
