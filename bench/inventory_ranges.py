# ruff: noqa: S608 - the SQL below is built from this module's constants only
"""Inventory at scale: cost grows with the ranges an operation touches, not with the serials in them.

A ledger of 22.1 million serials of one form type in 102,202 blocks (built with set-based INSERTs): 11
fragmented regions of 100 central runs of 50 serials between held blanks; 100,000 blocks of 100 serials
alternating holders and states, so none can merge; one block of 2,000,000 blanks held by a unit; one central
block of 10,000,000 blanks. Every block has its ledger lines (printed, allocated, received, used...).

Then, through the service's own code paths (the consumer handler for approvals, the movement service for
use batches, the read service for serial lookups), each in its own transaction and committed, after one
warm-up run that is not counted, and with the compared operations interleaved run by run:

- allocation of 500,000 serials and of 5,000 serials taken from one central range (ratio ≈ 1), and of 5,000
  serials that must be gathered from 100 central ranges (the cost of ranges);
- a use batch of 1,000 and of 10 consecutive serials (one range: ratio ≈ 1), and of 1,000 and 10 single
  serials scattered over as many blocks (1,000 vs 10 ranges);
- serial lookups (current block and full history) at random serials: p50 / p99.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from phoi_contracts.envelope import Envelope
from phoi_contracts.events.requests import ApprovedLine, RequestApproved
from phoi_inventory.domain import Actor, ActorRole, MovementItem, MovementKind, MovementRequest, OperationContext
from phoi_inventory.domain import SerialRange as Range
from phoi_inventory.handlers import handlers
from phoi_inventory.migrate import MIGRATIONS
from phoi_inventory.service.movements import Movements
from phoi_inventory.service.reads import Reads
from phoi_inventory.settings import Settings
from phoi_kit.auth import CurrentUser, Role
from phoi_kit.db import Database
from phoi_kit.migrations import upgrade
from phoi_kit.uow import UnitOfWork
from sqlalchemy import text

from bench.infra import infrastructure, percentiles

FT = "BENCH"
SOURCE = "/phoi/inventory"
# Layout (serials are 1-based; every region starts right after the previous one).
FRAG_REGIONS, FRAG_RUNS, FRAG_RUN = 11, 100, 50  # central run of 50, then 50 held: 100 serials per step
FRAG_BASE = 1
BULK_BASE = FRAG_BASE + FRAG_REGIONS * FRAG_RUNS * 2 * FRAG_RUN
BULK_BLOCKS, BULK_SIZE = 100_000, 100
HELD_BASE = BULK_BASE + BULK_BLOCKS * BULK_SIZE
HELD_SIZE = 2_000_000
CENTRAL_BASE = HELD_BASE + HELD_SIZE
CENTRAL_SIZE = 10_000_000
LAST = CENTRAL_BASE + CENTRAL_SIZE - 1
UNIT_A, UNIT_B, UNIT_F = "U-A", "U-B", "U-F"
ALLOCATION_A, ALLOCATION_B, ALLOCATION_F = (
    uuid.uuid5(uuid.NAMESPACE_URL, "a"),
    uuid.uuid5(uuid.NAMESPACE_URL, "b"),
    uuid.uuid5(uuid.NAMESPACE_URL, "f"),
)
RUNS = 10
USE_RUNS = 20
SCATTERED_RUNS = 6
LOOKUPS = 1_000

# Bulk block i: (state, holder) by i % 4, so neighbours always differ.
BULK_PATTERN = "(ARRAY['at_unit', 'at_unit', 'used', 'spoiled'])[i % 4 + 1]"
BULK_HOLDER = f"(ARRAY['{UNIT_A}', '{UNIT_B}', '{UNIT_A}', '{UNIT_B}'])[i % 4 + 1]"

BUILD = [
    "INSERT INTO form_types (id, code, name_vi, name_en, serial_prefix, digits, template_version, active, version,"
    f" created_by) VALUES ('{uuid.uuid4()}', '{FT}', 'Phôi thử tải', 'Benchmark blank', 'BN', 9, '1', true, 1,"
    " 'bench')",
    # what was printed: one batch per region
    f"INSERT INTO print_batches (id, form_type, serials, printer, contract_ref, received_on, created_by) VALUES"
    f" (gen_random_uuid(), '{FT}', int8range({FRAG_BASE}, {BULK_BASE}), 'p', 'c1', '2025-01-01', 'bench'),"
    f" (gen_random_uuid(), '{FT}', int8range({BULK_BASE}, {HELD_BASE}), 'p', 'c2', '2025-01-01', 'bench'),"
    f" (gen_random_uuid(), '{FT}', int8range({HELD_BASE}, {CENTRAL_BASE}), 'p', 'c3', '2025-01-01', 'bench'),"
    f" (gen_random_uuid(), '{FT}', int8range({CENTRAL_BASE}, {LAST + 1}), 'p', 'c4', '2025-01-01', 'bench')",
    # fragmented regions: central run, then a held run, 100 times per region
    "INSERT INTO blocks (form_type, serials, state, holder_unit)"
    f" SELECT '{FT}', int8range({FRAG_BASE} + i * {2 * FRAG_RUN} + k * {FRAG_RUN},"
    f" {FRAG_BASE} + i * {2 * FRAG_RUN} + (k + 1) * {FRAG_RUN}),"
    f" CASE k WHEN 0 THEN 'central' ELSE 'at_unit' END, CASE k WHEN 0 THEN NULL ELSE '{UNIT_F}' END"
    f" FROM generate_series(0, {FRAG_REGIONS * FRAG_RUNS - 1}) i, generate_series(0, 1) k",
    "INSERT INTO blocks (form_type, serials, state, holder_unit)"
    f" SELECT '{FT}', int8range({BULK_BASE} + i * {BULK_SIZE}, {BULK_BASE} + (i + 1) * {BULK_SIZE}),"
    f" {BULK_PATTERN}, {BULK_HOLDER} FROM generate_series(0, {BULK_BLOCKS - 1}) i",
    f"INSERT INTO blocks (form_type, serials, state, holder_unit) VALUES"
    f" ('{FT}', int8range({HELD_BASE}, {CENTRAL_BASE}), 'at_unit', '{UNIT_A}'),"
    f" ('{FT}', int8range({CENTRAL_BASE}, {LAST + 1}), 'central', NULL)",
    # the ledger that explains them (the GiST index is rebuilt once afterwards: a bulk load)
    "DROP INDEX ix_ledger_serials",
    "INSERT INTO ledger (operation_id, kind, reason, form_type, serials, from_state, to_state, actor_id,"
    " actor_role, at)"
    f" SELECT gen_random_uuid(), 'receive_print', 'print_batch_received', '{FT}', serials, NULL, 'central', 'bench',"
    " 'qlcl', '2025-01-01' FROM print_batches",
    "INSERT INTO ledger (operation_id, kind, reason, form_type, serials, from_state, to_state, from_holder, to_holder,"
    " allocation_id, actor_id, actor_role, at)"
    f" SELECT gen_random_uuid(), 'allocate', 'allocated', '{FT}', serials, 'central', 'allocated', NULL, holder_unit,"
    f" CASE holder_unit WHEN '{UNIT_A}' THEN '{ALLOCATION_A}'::uuid WHEN '{UNIT_B}' THEN '{ALLOCATION_B}'::uuid"
    f" ELSE '{ALLOCATION_F}'::uuid END, 'inventory', 'system', '2025-02-01'"
    " FROM blocks WHERE holder_unit IS NOT NULL ORDER BY lower(serials)",
    "INSERT INTO ledger (operation_id, kind, reason, form_type, serials, from_state, to_state, from_holder, to_holder,"
    " allocation_id, actor_id, actor_role, at)"
    f" SELECT gen_random_uuid(), 'receive', 'receipt_confirmed', '{FT}', serials, 'allocated', 'at_unit', holder_unit,"
    f" holder_unit, CASE holder_unit WHEN '{UNIT_A}' THEN '{ALLOCATION_A}'::uuid WHEN '{UNIT_B}'"
    f" THEN '{ALLOCATION_B}'::uuid ELSE '{ALLOCATION_F}'::uuid END, 'inventory', 'system', '2025-03-01'"
    " FROM blocks WHERE holder_unit IS NOT NULL ORDER BY lower(serials)",
    "INSERT INTO ledger (operation_id, kind, reason, form_type, serials, from_state, to_state, from_holder, to_holder,"
    " actor_id, actor_role, at, register_entry_first)"
    f" SELECT gen_random_uuid(), CASE state WHEN 'used' THEN 'use' ELSE 'spoil' END, CASE state WHEN 'used'"
    f" THEN 'issued' ELSE 'spoiled_damaged' END, '{FT}', serials, 'at_unit', state, holder_unit, holder_unit,"
    " 'unit-user', 'unit', '2025-06-01', CASE state WHEN 'used' THEN lower(serials) END"
    " FROM blocks WHERE state IN ('used', 'spoiled') ORDER BY lower(serials)",
    "CREATE INDEX ix_ledger_serials ON ledger USING gist (form_type, serials)",
    "INSERT INTO stock_balances (form_type, holder_key, balance)"
    " SELECT form_type, coalesce(holder_unit, ''), sum(upper(serials) - lower(serials)) FROM blocks"
    " WHERE state IN ('central', 'at_unit') GROUP BY 1, 2",
    "INSERT INTO stock_state_counts (form_type, state, count)"
    " SELECT form_type, state, sum(upper(serials) - lower(serials)) FROM blocks GROUP BY 1, 2",
]
# After the bulk load, so that autovacuum does not run (on one of two cores) during the measurements.
SETTLE = ["VACUUM ANALYZE", "CHECKPOINT"]


async def _build(database: Database) -> dict[str, Any]:
    start = time.perf_counter()
    async with database.engine.begin() as conn:
        for statement in BUILD:
            await conn.execute(text(statement))
    async with database.engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in SETTLE:
            await autocommit.execute(text(statement))
    async with database.session() as session:
        blocks, serials = (
            await session.execute(text("SELECT count(*), sum(upper(serials) - lower(serials)) FROM blocks"))
        ).one()
        ledger = (await session.execute(text("SELECT count(*) FROM ledger"))).scalar_one()
    return {
        "blocks": int(blocks),
        "serials": int(serials),
        "ledger_lines": int(ledger),
        "build_seconds": round(time.perf_counter() - start, 1),
    }


async def _timed(database: Database, work: Callable[[UnitOfWork], Awaitable[None]]) -> float:
    """Milliseconds for `work` in its own transaction, commit (outbox rows included) and all."""
    start = time.perf_counter()
    async with database.session() as session:
        uow = UnitOfWork(session, source=SOURCE)
        await work(uow)
        await uow.commit()
    return (time.perf_counter() - start) * 1000


async def _ranges_of_last_operation(database: Database, kind: str) -> int:
    async with database.session() as session:
        return int(
            (
                await session.execute(
                    text(
                        "SELECT count(*) FROM ledger WHERE operation_id = (SELECT operation_id FROM ledger"
                        " WHERE kind = :k ORDER BY id DESC LIMIT 1)"
                    ),
                    {"k": kind},
                )
            ).scalar_one()
        )


async def _allocate(database: Database, settings: Settings, quantity: int) -> tuple[float, int]:
    """One approval of `quantity` serials through the consumer's handler: (milliseconds, ranges touched)."""
    approve = handlers(settings)[RequestApproved.TYPE]
    event = RequestApproved(
        request_id=uuid.uuid4(),
        unit_code="U-X",
        approval_revision=1,
        lines=(
            ApprovedLine(
                line_id=uuid.uuid4(), form_type_code=FT, requested_quantity=quantity, approved_quantity=quantity
            ),
        ),
    )
    envelope = Envelope.wrap(event, source="/phoi/requests")

    async def work(uow: UnitOfWork) -> None:
        await approve(uow, envelope)
        if not any(env.type == "allocation.completed.v1" for _, env in uow.pending):
            raise RuntimeError("the benchmark's allocation did not complete")

    elapsed = await _timed(database, work)
    return elapsed, await _ranges_of_last_operation(database, "allocate")


async def _allocations(
    database: Database, settings: Settings, quantities: list[int], runs: int
) -> list[dict[str, Any]]:
    """`runs` rounds, each allocating every quantity in turn (interleaved, so that any drift over the run
    affects them alike), after one warm-up round that is not counted."""
    samples: list[list[float]] = [[] for _ in quantities]
    touched = [0 for _ in quantities]
    for run in range(runs + 1):
        for n, quantity in enumerate(quantities):
            elapsed, touched[n] = await _allocate(database, settings, quantity)
            if run:
                samples[n].append(elapsed)
    return [
        {"serials": q, "ranges_touched": t, "ms": percentiles(s), "samples": runs}
        for q, t, s in zip(quantities, touched, samples, strict=True)
    ]


async def _use(database: Database, settings: Settings, ranges: list[Range], entries: Iterator[int]) -> float:
    """One use batch by unit U-A through the movement service (register entries booked): milliseconds."""
    items = []
    for r in ranges:
        first = next(entries)
        for _ in range(r.count - 1):
            next(entries)
        items.append(MovementItem(r, first))
    request = MovementRequest(MovementKind.USE, FT, tuple(items), document_ref="QĐ-bench")
    ctx = OperationContext(Actor("bench-user", ActorRole.UNIT, UNIT_A), _now(), str(uuid.uuid4()))

    async def work(uow: UnitOfWork) -> None:
        await Movements(uow, settings).record(request, ctx, occurred_on=date(2025, 6, 15))

    return await _timed(database, work)


async def _uses(
    database: Database, settings: Settings, kinds: list[list[list[Range]]], entries: Iterator[int]
) -> list[dict[str, Any]]:
    """Round by round, one batch of each kind (interleaved); the first round warms up and is not counted."""
    samples: list[list[float]] = [[] for _ in kinds]
    for run in range(len(kinds[0])):
        for n, batches in enumerate(kinds):
            elapsed = await _use(database, settings, batches[run], entries)
            if run:
                samples[n].append(elapsed)
    return [
        {
            "serials": sum(r.count for r in batches[0]),
            "ranges_touched": len(batches[0]),
            "ms": percentiles(s),
            "samples": len(s),
        }
        for batches, s in zip(kinds, samples, strict=True)
    ]


def _now() -> datetime:
    return datetime.now(UTC)


async def _lookups(database: Database, settings: Settings, rng: random.Random) -> dict[str, Any]:
    auditor = CurrentUser("bench", "bench", frozenset({Role.AUDITOR}), None, None, 0)
    samples: list[float] = []
    history = 0
    for n in range(LOOKUPS + 50):  # the first 50 warm the caches up and are not counted
        serial = rng.randint(FRAG_BASE, LAST)
        start = time.perf_counter()
        async with database.session() as session:
            view = await Reads(UnitOfWork(session, source=SOURCE), settings).serial(auditor, FT, str(serial))
        if n >= 50:
            samples.append((time.perf_counter() - start) * 1000)
            history += len(view.history)
    return {"lookups": LOOKUPS, "mean_history_lines": round(history / LOOKUPS, 2), "ms": percentiles(samples)}


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> float:
    return round(float(a["ms"]["p50"]) / float(b["ms"]["p50"]), 2)


async def run() -> dict[str, Any]:
    rng = random.Random(2699)
    with infrastructure() as infra:
        url = infra.postgres.create_database("inventory_bench")
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        settings = Settings(database_url=url, kafka_bootstrap=infra.broker.bootstrap)
        database = Database(url, pool_size=4)
        try:
            ledger = await _build(database)
            # allocations, lowest serials first: the 10 fragmented regions go first, one per request
            [alloc_100_ranges] = await _allocations(database, settings, [FRAG_RUNS * FRAG_RUN], FRAG_REGIONS - 1)
            alloc_5k, alloc_500k = await _allocations(database, settings, [5_000, 500_000], RUNS)
            # use batches by unit U-A: consecutive serials in its 2,000,000 block, or single serials in as
            # many of its 100-serial bulk blocks (bulk block i is U-A's at_unit when i % 4 == 0)
            cursor = HELD_BASE
            contiguous_10, contiguous_1000 = [], []
            for _ in range(USE_RUNS):
                contiguous_10.append([Range(cursor, cursor + 9)])
                contiguous_1000.append([Range(cursor + 10, cursor + 1_009)])
                cursor += 2_000
            held_blocks = list(range(0, BULK_BLOCKS, 4))
            rng.shuffle(held_blocks)

            def scattered(n: int) -> list[Range]:
                picks = sorted(held_blocks.pop() for _ in range(n))
                return [Range.single(BULK_BASE + i * BULK_SIZE + rng.randrange(BULK_SIZE)) for i in picks]

            entries = itertools.count(1)
            use_10, use_1000 = await _uses(database, settings, [contiguous_10, contiguous_1000], entries)
            use_10_scattered, use_1000_scattered = await _uses(
                database,
                settings,
                [[scattered(10) for _ in range(SCATTERED_RUNS)], [scattered(1_000) for _ in range(SCATTERED_RUNS)]],
                entries,
            )
            lookups = await _lookups(database, settings, rng)
        finally:
            await database.dispose()
    return {
        "ledger": ledger,
        "allocation": {
            "500k_serials_1_range": alloc_500k,
            "5k_serials_1_range": alloc_5k,
            "5k_serials_100_ranges": alloc_100_ranges,
            "ratio_500k_vs_5k_p50": _ratio(alloc_500k, alloc_5k),
            "ratio_100_ranges_vs_1_range_p50": _ratio(alloc_100_ranges, alloc_5k),
        },
        "use_batch": {
            "1000_serials_1_range": use_1000,
            "10_serials_1_range": use_10,
            "1000_serials_1000_ranges": use_1000_scattered,
            "10_serials_10_ranges": use_10_scattered,
            "ratio_1000_vs_10_serials_p50": _ratio(use_1000, use_10),
            "ratio_1000_vs_10_ranges_p50": _ratio(use_1000_scattered, use_10_scattered),
        },
        "serial_lookup": lookups,
    }
