"""Concurrent approvals, duplicates and unit movements against the real database: no serial is ever in two
allocations, the exclusion constraint never has to refuse anything, and the blocks remain exactly what the
ledger says."""

from __future__ import annotations

import asyncio
import random
import uuid
from itertools import pairwise
from typing import Any

from phoi_inventory.adapters.queries import ledger_line_of
from phoi_inventory.domain import BlankState, Block, SerialRange, check_partition, replay_ledger


async def _blocks(env: Any) -> list[Block]:
    rows = await env.fetch(
        "SELECT form_type, lower(serials) AS lo, upper(serials) AS hi, state, holder_unit, allocation_id FROM blocks"
    )
    return [
        Block(
            r.form_type,
            SerialRange(r.lo, r.hi - 1),
            BlankState(r.state),
            r.holder_unit,
            None if r.allocation_id is None else str(r.allocation_id),
        )
        for r in rows
    ]


async def _assert_blocks_match_the_ledger(env: Any) -> None:
    rows = await env.fetch(
        "SELECT id, operation_id, kind, reason, form_type, lower(serials) AS lo, upper(serials) AS hi, from_state,"
        " to_state, from_holder, to_holder, allocation_id, document_ref, actor_id, actor_role, at, occurred_on,"
        " register_entry_first, note, balance_after FROM ledger ORDER BY id"
    )
    blocks = await _blocks(env)
    check_partition(blocks)
    replayed = replay_ledger(ledger_line_of(r).movement for r in rows)
    assert sorted(replayed, key=Block.sort_key) == sorted(blocks, key=Block.sort_key)
    counts = {(r.form_type, r.state): r.count for r in await env.fetch("SELECT * FROM stock_state_counts")}
    for (ft, state), count in counts.items():
        assert count == sum(b.count for b in blocks if b.form_type == ft and b.state.value == state)


async def test_concurrent_approvals_never_share_a_serial(committed_env: Any) -> None:
    rng = random.Random(2699)
    ft, other = await committed_env.form_type(), await committed_env.form_type()
    await committed_env.batch(ft, 1, 20_000)
    await committed_env.batch(ft, 30_001, 50_000)  # a gap: allocations must skip it
    await committed_env.batch(other, 1, 10_000)
    approvals = [
        committed_env.approval(
            [(ft, rng.randint(2_000, 5_000))] + ([(other, rng.randint(100, 1_500))] if n % 2 else []),
            unit=f"SGD-{n:02d}",
        )
        for n in range(16)
    ]
    duplicate = approvals[0]
    envelopes = [committed_env.envelope(a) for a in approvals] + [committed_env.envelope(duplicate) for _ in range(3)]
    rng.shuffle(envelopes)
    # each handler call runs in its own session and transaction, all at once
    await asyncio.gather(*(committed_env.handle(e) for e in envelopes))

    rows = await committed_env.fetch(
        "SELECT a.request_id, a.status, l.form_type, l.quantity, l.ranges FROM allocations a"
        " JOIN allocation_lines l ON l.allocation_id = a.id"
    )
    assert len({r.request_id for r in rows}) == 16  # the duplicates changed nothing
    completed = [r for r in rows if r.status == "completed"]
    waiting = [r for r in rows if r.status == "waiting_for_stock"]
    assert completed  # demand exceeds stock: both outcomes occur
    assert waiting
    assert all(r.ranges == [] for r in waiting)
    for form_type in (ft, other):
        taken = sorted(SerialRange(a, b) for r in completed if r.form_type == form_type for a, b in r.ranges)
        for before, after in pairwise(taken):
            assert before.last < after.first, f"{form_type}: {before} and {after} share serials"
        assert all(not (20_001 <= r.first <= 30_000 or 20_001 <= r.last <= 30_000) for r in taken)
        assert sum(r.count for r in taken) == sum(r.quantity for r in completed if r.form_type == form_type)
    assert len(await committed_env.outbox("allocation.completed.v1")) == len({r.request_id for r in completed})
    await _assert_blocks_match_the_ledger(committed_env)


async def test_movements_racing_with_approvals_and_each_other(committed_env: Any) -> None:
    ft = await committed_env.form_type()
    await committed_env.batch(ft, 1, 10_000)
    await committed_env.hold(ft, 5_000)  # SGD-HN holds 1..5000

    async def spoil(first: int, last: int) -> int:
        response = await committed_env.move(
            {"kind": "spoil", "form_type": ft, "items": [{"first": first, "last": last}], "document_ref": "BB"}
        )
        return int(response.status_code)

    disjoint = [spoil(n * 100 + 1, n * 100 + 50) for n in range(20)]
    contested = [spoil(4_001, 4_500) for _ in range(4)]
    approvals = [
        committed_env.handle(committed_env.envelope(committed_env.approval([(ft, 700)], unit=committed_env.OTHER_UNIT)))
        for _ in range(6)
    ]
    results = await asyncio.gather(*disjoint, *contested, *approvals)
    assert results[:20] == [201] * 20
    assert sorted(results[20:24]) == [201, 409, 409, 409]  # exactly one of the racing calls wins
    by_state = {(line["state"], line["holder_unit"]): line["count"] for line in await committed_env.stock(form_type=ft)}
    assert by_state[("spoiled", committed_env.UNIT)] == 20 * 50 + 500
    assert by_state[("allocated", committed_env.OTHER_UNIT)] == 6 * 700
    assert by_state[("central", None)] == 5_000 - 6 * 700
    await _assert_blocks_match_the_ledger(committed_env)


async def test_the_same_receipt_delivered_concurrently_is_applied_once(committed_env: Any) -> None:
    ft = await committed_env.form_type()
    await committed_env.batch(ft, 1, 1_000)
    approved, allocation = await committed_env.approve([(ft, 300)])
    receipt = committed_env.receipt(approved, uuid.UUID(allocation["allocation_id"]))
    await asyncio.gather(*(committed_env.handle(committed_env.envelope(receipt)) for _ in range(4)))
    by_state = {(line["state"], line["holder_unit"]): line["count"] for line in await committed_env.stock(form_type=ft)}
    assert by_state == {("at_unit", committed_env.UNIT): 300, ("central", None): 700}
    assert len(await committed_env.outbox("stock.received_by_unit.v1")) == 1
    await _assert_blocks_match_the_ledger(committed_env)
