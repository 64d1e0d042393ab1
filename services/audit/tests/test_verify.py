"""Tampering directly in PostgreSQL, as a superuser would, is found at the tampered sequence number."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from phoi_audit.adapters.entries import ENTRY_COLUMNS

N = 12
REPLICA = "SET LOCAL session_replication_role = replica"  # ordinary triggers do not fire


async def verify(svc: Any, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await svc.client.get("/api/v1/verify", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def failures_metric(svc: Any) -> float:
    text = (await svc.client.get("/metrics")).text
    match = re.search(r'^audit_verify_failures_total\{service="audit"\} (\S+)$', text, re.MULTILINE)
    assert match, "audit_verify_failures_total is exported"
    return float(match.group(1))


class Tamperer:
    """Changes the log behind the service's back, then puts the original rows back."""

    def __init__(self, conn: asyncpg.Connection, original: list[asyncpg.Record], head: asyncpg.Record) -> None:
        self.conn = conn
        self.original = original
        self.head = head

    async def bypassing_triggers(self, *statements: str) -> None:
        async with self.conn.transaction():
            await self.conn.execute(REPLICA)
            for statement in statements:
                await self.conn.execute(statement)

    async def with_trigger_disabled(self, *statements: str) -> None:
        async with self.conn.transaction():
            await self.conn.execute("ALTER TABLE audit_entries DISABLE TRIGGER USER")
            for statement in statements:
                await self.conn.execute(statement)
            await self.conn.execute("ALTER TABLE audit_entries ENABLE TRIGGER USER")

    async def restore(self) -> None:
        async with self.conn.transaction():
            await self.conn.execute(REPLICA)
            await self.conn.execute("DELETE FROM audit_entries")
            await self.conn.copy_records_to_table(
                "audit_entries",
                records=[tuple(r[c] for c in ENTRY_COLUMNS) for r in self.original],
                columns=ENTRY_COLUMNS,
            )
            await self.conn.execute(
                "UPDATE audit_head SET sequence = $1, hash = $2", self.head["sequence"], self.head["hash"]
            )


TamperCase = tuple[str, Callable[[Tamperer], Awaitable[None]], int, str]

CASES: list[TamperCase] = [
    (
        "payload changed",
        lambda t: t.bypassing_triggers(
            """UPDATE audit_entries SET payload = replace(payload, 'Sự kiện', 'Sự cố') WHERE sequence = 5"""
        ),
        5,
        "hash_mismatch",
    ),
    (
        "actor changed",
        lambda t: t.bypassing_triggers("UPDATE audit_entries SET actor_username = 'nguoi-khac' WHERE sequence = 3"),
        3,
        "hash_mismatch",
    ),
    (
        "time changed (trigger disabled instead)",
        lambda t: t.with_trigger_disabled(
            "UPDATE audit_entries SET occurred_at = occurred_at - interval '1 day' WHERE sequence = 7"
        ),
        7,
        "hash_mismatch",
    ),
    (
        "unit changed on the first entry",
        lambda t: t.bypassing_triggers("UPDATE audit_entries SET unit_code = 'SGD-HCM' WHERE sequence = 1"),
        1,
        "hash_mismatch",
    ),
    (
        "type changed on the newest entry",
        lambda t: t.bypassing_triggers(f"UPDATE audit_entries SET type = 'request.cancelled.v1' WHERE sequence = {N}"),
        N,
        "hash_mismatch",
    ),
    (
        "hash changed",
        lambda t: t.bypassing_triggers(
            "UPDATE audit_entries SET hash = repeat('a', 64) WHERE sequence = 6",
        ),
        6,
        "hash_mismatch",
    ),
    (
        "prev_hash changed",
        lambda t: t.bypassing_triggers("UPDATE audit_entries SET prev_hash = repeat('b', 64) WHERE sequence = 9"),
        9,
        "prev_hash_mismatch",
    ),
    (
        "an entry deleted",
        lambda t: t.bypassing_triggers("DELETE FROM audit_entries WHERE sequence = 8"),
        8,
        "sequence_mismatch",
    ),
    (
        "the newest entry deleted (caught by the chain head)",
        lambda t: t.bypassing_triggers(f"DELETE FROM audit_entries WHERE sequence = {N}"),
        N,
        "truncated",
    ),
    (
        "two neighbours reordered",
        lambda t: t.bypassing_triggers(
            "UPDATE audit_entries SET sequence = -3 WHERE sequence = 3",
            "UPDATE audit_entries SET sequence = 3 WHERE sequence = 4",
            "UPDATE audit_entries SET sequence = 4 WHERE sequence = -3",
        ),
        3,
        "prev_hash_mismatch",
    ),
    (
        "two distant entries reordered (trigger disabled)",
        lambda t: t.with_trigger_disabled(
            "UPDATE audit_entries SET sequence = -2 WHERE sequence = 2",
            "UPDATE audit_entries SET sequence = 2 WHERE sequence = 10",
            "UPDATE audit_entries SET sequence = 10 WHERE sequence = -2",
        ),
        2,
        "prev_hash_mismatch",
    ),
    (
        "an entry inserted after the head",
        lambda t: t.bypassing_triggers(
            "INSERT INTO audit_entries SELECT sequence + 1, gen_random_uuid(), type, actor_user_id, actor_username, "
            "actor_role, actor_unit_code, subject, unit_code, occurred_at, recorded_at, payload, hash, hash "
            f"FROM audit_entries WHERE sequence = {N}"
        ),
        N + 1,
        "sequence_mismatch",
    ),
]


async def test_tampering_with_stored_entries_is_found_at_that_sequence(
    audit: Any, record_all: Any, make_envelope: Any, superuser: Any, token_for: Any
) -> None:
    auditor = token_for("auditor").headers
    async with audit(background=False) as svc, superuser(svc) as conn:
        await record_all(svc, [make_envelope(n, unit="SGD-HNI" if n % 2 else "SGD-HCM") for n in range(1, N + 1)])
        intact = await verify(svc, auditor)
        assert (intact["ok"], intact["checked_count"], intact["head"]["sequence"]) == (True, N, N)
        original = await conn.fetch("SELECT * FROM audit_entries ORDER BY sequence")
        tamperer = Tamperer(conn, list(original), await conn.fetchrow("SELECT * FROM audit_head"))
        failures_before = await failures_metric(svc)

        # the database itself refuses changes to the log
        for statement in (
            "UPDATE audit_entries SET unit_code = 'X' WHERE sequence = 2",
            "DELETE FROM audit_entries WHERE sequence = 2",
            "TRUNCATE audit_entries",
            "UPDATE audit_head SET sequence = 1",
            "DELETE FROM audit_head",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)

        for name, tamper, at, reason in CASES:
            await tamper(tamperer)
            broken = await verify(svc, auditor)
            assert (broken["ok"], broken["first_broken_sequence"], broken["reason"]) == (False, at, reason), name
            assert broken["checked_count"] == min(at, N + 1) - 1, name
            await tamperer.restore()
            assert (await verify(svc, auditor))["ok"], f"restored after: {name}"

        assert await failures_metric(svc) >= failures_before + len(CASES)

        # a range is verified from the hash of the entry before it
        await CASES[0][1](tamperer)  # entry 5 changed
        assert (await verify(svc, auditor, from_sequence=6))["ok"]
        in_range = await verify(svc, auditor, from_sequence=3, to_sequence=7)
        assert (in_range["first_broken_sequence"], in_range["checked_count"], in_range["to_sequence"]) == (5, 2, 7)
        await tamperer.restore()
        await tamperer.bypassing_triggers("DELETE FROM audit_entries WHERE sequence = 5")
        anchor_gone = await verify(svc, auditor, from_sequence=6, to_sequence=9)
        assert (anchor_gone["first_broken_sequence"], anchor_gone["reason"]) == (5, "sequence_mismatch")
        await tamperer.restore()


async def test_a_rewritten_history_is_caught_by_a_published_checkpoint(
    audit: Any, record_all: Any, make_envelope: Any, superuser: Any, token_for: Any
) -> None:
    """An administrator who rewrites an entry and re-chains everything after it (head included) leaves a
    chain that is consistent on its own; a checkpoint kept elsewhere still shows the rewrite."""
    from phoi_audit.adapters.entries import entry_from_row, entry_row
    from phoi_audit.domain import chain_next

    admin = token_for("qlcl_admin").headers
    async with audit(background=False) as svc, superuser(svc) as conn:
        await record_all(svc, [make_envelope(n) for n in range(1, 9)])
        checkpoint = await conn.fetchrow("SELECT sequence, hash FROM audit_head")  # published, kept elsewhere
        rows = await conn.fetch("SELECT * FROM audit_entries ORDER BY sequence")
        forged = [entry_from_row(r) for r in rows[:3]]
        for row in rows[3:]:
            entry = entry_from_row(row)
            payload = {**entry.payload, "ghi_chú": "đã sửa"} if entry.sequence == 4 else entry.payload
            forged.append(
                chain_next(
                    forged[-1],
                    event_id=entry.event_id,
                    type=entry.type,
                    actor=entry.actor,
                    subject=entry.subject,
                    unit_code=entry.unit_code,
                    occurred_at=entry.occurred_at,
                    recorded_at=entry.recorded_at,
                    payload=payload,
                )
            )
        async with conn.transaction():
            await conn.execute(REPLICA)
            await conn.execute("DELETE FROM audit_entries WHERE sequence >= 4")
            await conn.copy_records_to_table(
                "audit_entries",
                records=[tuple(entry_row(e)[c] for c in ENTRY_COLUMNS) for e in forged[3:]],
                columns=ENTRY_COLUMNS,
            )
            await conn.execute("UPDATE audit_head SET sequence = $1, hash = $2", forged[-1].sequence, forged[-1].hash)

        assert (await verify(svc, admin))["ok"]  # consistent on its own...
        caught = await verify(
            svc, admin, checkpoint_sequence=checkpoint["sequence"], checkpoint_hash=checkpoint["hash"]
        )
        assert (caught["ok"], caught["first_broken_sequence"], caught["reason"]) == (False, 8, "checkpoint_mismatch")
        # ...and a checkpoint from before the rewrite still matches
        early = rows[2]
        assert (await verify(svc, admin, checkpoint_sequence=early["sequence"], checkpoint_hash=early["hash"]))["ok"]


async def test_verify_access_and_parameters(audit: Any, record_all: Any, make_envelope: Any, token_for: Any) -> None:
    async with audit(background=False) as svc:
        await record_all(svc, [make_envelope(n) for n in range(1, 4)])
        auditor = token_for("auditor").headers
        for params, code in (
            ({"from_sequence": 3, "to_sequence": 2}, "invalid_range"),
            ({"from_sequence": 9}, "range_beyond_head"),
            ({"checkpoint_sequence": 2}, "invalid_checkpoint"),
            ({"from_sequence": 3, "checkpoint_sequence": 0, "checkpoint_hash": "0" * 64}, "invalid_checkpoint"),
            ({"checkpoint_sequence": 2, "checkpoint_hash": "XYZ"}, "validation_failed"),
            ({"from_sequence": 0}, "validation_failed"),
        ):
            response = await svc.client.get("/api/v1/verify", params=params, headers=auditor)
            assert (response.status_code, response.json()["code"]) == (422, code), params
        empty_tail = await verify(svc, auditor, from_sequence=4)
        assert (empty_tail["ok"], empty_tail["checked_count"]) == (True, 0)
        assert (await svc.client.get("/api/v1/verify")).status_code == 401
        for role, unit in (("unit_account", "SGD-HNI"), ("qlcl_officer", None)):  # last: refusals get recorded
            refused = await svc.client.get("/api/v1/verify", headers=token_for(role, unit).headers)
            assert (refused.status_code, refused.json()["code"]) == (403, "role_required")
