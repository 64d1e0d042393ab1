"""The block table, the ledger, balances and state counts: loading what an operation touches, writing its
``Change``, and the locks that make concurrent operations safe.

Locking (the rule every writer follows, so no serial is ever decided twice and no deadlock can form):

1. an operation that may run the allocation queue (approval, print batch, release, return received back)
   first takes the queue lock (a transaction-scoped advisory lock), so queue runs are serialised;
2. every operation then locks the rows of ALL the form types whose blocks it will read or write, in one
   statement, sorted by code (``SELECT ... FOR NO KEY UPDATE``), before reading any block.

Because every writer of a form type's blocks holds that form type's row lock, the blocks an operation
reads cannot change before it commits: loads need no row locks, and the statement that reads them runs
after the lock was granted (READ COMMITTED takes a fresh snapshot per statement). As a second line of
defence, a removed block must delete exactly its stored row (``ConcurrentChangeError`` otherwise) and the
exclusion constraint refuses any overlap.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_inventory.domain import BlankState, Block, Change, Movement, SerialRange, StockKey

QUEUE_LOCK_KEY = zlib.crc32(b"phoi-inventory:allocation-queue")

BLOCK_COLUMNS = "id, form_type, lower(serials) AS lo, upper(serials) AS hi, state, holder_unit, allocation_id"


class ConcurrentChangeError(RuntimeError):
    """A block to remove was not stored as loaded: someone changed it without the form type's lock."""


def multirange(ranges: Iterable[SerialRange]) -> list[asyncpg.Range]:
    """An int8multirange parameter (bind it with CAST(:x AS int8multirange)): asyncpg ranges, binary."""
    return [asyncpg.Range(r.first, r.last + 1) for r in ranges]


def parse_multirange(value: str | None) -> list[SerialRange]:
    """The inverse of ``multirange_literal`` for PostgreSQL's output (canonical ``[lo,hi)`` ranges)."""
    if not value or value == "{}":
        return []
    out: list[SerialRange] = []
    for part in value.strip("{}").split("),"):
        lo, hi = part.strip("[)").split(",")
        out.append(SerialRange(int(lo), int(hi) - 1))
    return out


@dataclass
class Loaded:
    """Blocks read for one operation, and their row ids (to delete exactly the rows that were read)."""

    blocks: dict[tuple[str, int], Block] = field(default_factory=dict)
    ids: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, row_id: int, block: Block) -> None:
        key = (block.form_type, block.serials.first)
        self.blocks[key] = block
        self.ids[key] = row_id

    def all(self) -> list[Block]:
        return list(self.blocks.values())

    def id_of(self, block: Block) -> int:
        key = (block.form_type, block.serials.first)
        stored = self.blocks.get(key)
        if stored != block:
            raise ConcurrentChangeError(f"block {block.form_type} {block.serials} was not loaded as such")
        return self.ids[key]


def block_of_row(row: Row[Any]) -> Block:
    """A ``Block`` from a row selected with ``BLOCK_COLUMNS``."""
    return Block(
        row.form_type,
        SerialRange(row.lo, row.hi - 1),
        BlankState(row.state),
        row.holder_unit,
        None if row.allocation_id is None else str(row.allocation_id),
    )


def _holder_key(holder: str | None) -> str:
    return holder or ""


class BlockStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------ locks

    async def lock_queue(self) -> None:
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUEUE_LOCK_KEY})

    async def lock_form_types(self, codes: Iterable[str]) -> set[str]:
        """Lock the rows of these form types (all at once, sorted); returns the codes that exist."""
        wanted = sorted(set(codes))
        if not wanted:
            return set()
        rows = await self.session.execute(
            text(
                "SELECT code FROM form_types WHERE code = ANY(CAST(:codes AS text[])) ORDER BY code FOR NO KEY UPDATE"
            ),
            {"codes": wanted},
        )
        return {r.code for r in rows}

    # ------------------------------------------------------------------ loading

    async def load_overlapping(
        self, form_type: str, ranges: Sequence[SerialRange], into: Loaded | None = None
    ) -> Loaded:
        """Every block of ``form_type`` overlapping any of ``ranges``: one GiST index probe per range
        (a nested loop over the ranges), so the cost grows with the ranges, not with their span."""
        loaded = into or Loaded()
        if not ranges:
            return loaded
        rows = await self.session.execute(
            text(
                "SELECT b.id, b.form_type, lower(b.serials) AS lo, upper(b.serials) AS hi, b.state, b.holder_unit,"
                " b.allocation_id FROM unnest(CAST(:lo AS bigint[]), CAST(:hi AS bigint[])) AS r(lo, hi)"
                " JOIN blocks b ON b.form_type = :ft AND b.serials && int8range(r.lo, r.hi)"
            ),
            {"ft": form_type, "lo": [r.first for r in ranges], "hi": [r.last + 1 for r in ranges]},
        )
        for row in rows:
            loaded.add(row.id, block_of_row(row))
        return loaded

    async def load_central_for_demand(self, form_type: str, demand: int, into: Loaded | None = None) -> Loaded:
        """The central blocks of ``form_type`` in ascending serial order until their total reaches
        ``demand`` (or all of them): what ``process_allocation_queue`` needs. Pages through the partial
        index, so the cost grows with the blocks taken, not with the stock."""
        loaded = into or Loaded()
        total, after, page = 0, -1, 16
        while total < demand:
            rows = (
                await self.session.execute(
                    text(
                        f"SELECT {BLOCK_COLUMNS} FROM blocks WHERE form_type = :ft AND state = 'central'"  # noqa: S608 - constant SQL, values bound
                        " AND lower(serials) > :after ORDER BY lower(serials) LIMIT :n"
                    ),
                    {"ft": form_type, "after": after, "n": page},
                )
            ).all()
            for row in rows:
                block = block_of_row(row)
                loaded.add(row.id, block)
                total += block.count
                after = block.serials.first
                if total >= demand:
                    break
            if len(rows) < page:
                break
            page = min(page * 4, 4096)
        return loaded

    async def blocks_of_allocation(self, allocation_id: uuid.UUID) -> list[Block]:
        rows = await self.session.execute(
            text(f"SELECT {BLOCK_COLUMNS} FROM blocks WHERE allocation_id = :a ORDER BY form_type, lower(serials)"),  # noqa: S608 - constant SQL, values bound
            {"a": allocation_id},
        )
        return [block_of_row(r) for r in rows]

    # ------------------------------------------------------------------ writing

    async def balances(self, keys: Iterable[StockKey]) -> dict[StockKey, int]:
        wanted = sorted(set(keys))
        out = dict.fromkeys(wanted, 0)
        if not wanted:
            return out
        rows = await self.session.execute(
            text(
                "SELECT b.form_type, b.holder_key, b.balance FROM stock_balances b"
                " JOIN unnest(CAST(:fts AS text[]), CAST(:hks AS text[])) AS k(ft, hk)"
                " ON b.form_type = k.ft AND b.holder_key = k.hk"
            ),
            {"fts": [k.form_type for k in wanted], "hks": [_holder_key(k.holder_unit) for k in wanted]},
        )
        for row in rows:
            out[StockKey(row.form_type, row.holder_key or None)] = int(row.balance)
        return out

    async def write(
        self,
        change: Change,
        loaded: Loaded,
        *,
        occurred_on: date | None = None,
    ) -> Change:
        """Persist ``change`` (see ``domain.Change``): delete the removed rows (exactly those loaded),
        insert the added blocks, append the ledger lines with their balances, update the balances and
        the per-state counts. Returns the change with ``balance_after`` stamped on its lines."""
        opening = await self.balances(change.balance_keys())
        stamped = change.with_balances(opening)
        if change.removed:
            ids = [loaded.id_of(b) for b in change.removed]
            deleted = await self.session.execute(
                text("DELETE FROM blocks WHERE id = ANY(CAST(:ids AS bigint[])) RETURNING id"), {"ids": ids}
            )
            if len(deleted.all()) != len(ids):
                raise ConcurrentChangeError("blocks changed while this operation held the form type's lock")
        if change.added:
            await self._insert_blocks(change.added)
        if stamped.movements:
            await self._append_ledger(stamped.movements, occurred_on=occurred_on)
        await self._set_balances(opening, change.balance_deltas())
        await self._add_state_counts(change)
        return stamped

    async def _insert_blocks(self, blocks: Sequence[Block]) -> None:
        await self.session.execute(
            text(
                "INSERT INTO blocks (form_type, serials, state, holder_unit, allocation_id)"
                " SELECT f, int8range(lo, hi), s, h, a FROM unnest(CAST(:f AS text[]), CAST(:lo AS bigint[]),"
                " CAST(:hi AS bigint[]), CAST(:s AS text[]), CAST(:h AS text[]), CAST(:a AS uuid[]))"
                " AS t(f, lo, hi, s, h, a)"
            ),
            {
                "f": [b.form_type for b in blocks],
                "lo": [b.serials.first for b in blocks],
                "hi": [b.serials.last + 1 for b in blocks],
                "s": [b.state.value for b in blocks],
                "h": [b.holder_unit for b in blocks],
                "a": [None if b.allocation_id is None else uuid.UUID(b.allocation_id) for b in blocks],
            },
        )

    async def _append_ledger(self, movements: Sequence[Movement], *, occurred_on: date | None) -> None:
        await self.session.execute(
            text(
                "INSERT INTO ledger (operation_id, kind, reason, form_type, serials, from_state, to_state,"
                " from_holder, to_holder, allocation_id, document_ref, actor_id, actor_role, at, occurred_on,"
                " register_entry_first, note, balance_after)"
                " SELECT op, k, r, f, int8range(lo, hi), fs, ts, fh, th, a, d, ai, ar, at, CAST(:occurred_on AS date),"
                " re, n, bal"
                " FROM unnest(CAST(:op AS uuid[]), CAST(:k AS text[]), CAST(:r AS text[]), CAST(:f AS text[]),"
                " CAST(:lo AS bigint[]), CAST(:hi AS bigint[]), CAST(:fs AS text[]), CAST(:ts AS text[]),"
                " CAST(:fh AS text[]), CAST(:th AS text[]), CAST(:a AS uuid[]), CAST(:d AS text[]),"
                " CAST(:ai AS text[]), CAST(:ar AS text[]), CAST(:at AS timestamptz[]), CAST(:re AS bigint[]),"
                " CAST(:n AS text[]), CAST(:bal AS bigint[]))"
                " AS t(op, k, r, f, lo, hi, fs, ts, fh, th, a, d, ai, ar, at, re, n, bal)"
            ),
            {
                "op": [uuid.UUID(m.operation_id) for m in movements],
                "k": [m.kind.value for m in movements],
                "r": [m.reason.value for m in movements],
                "f": [m.form_type for m in movements],
                "lo": [m.serials.first for m in movements],
                "hi": [m.serials.last + 1 for m in movements],
                "fs": [None if m.from_state is None else m.from_state.value for m in movements],
                "ts": [m.to_state.value for m in movements],
                "fh": [m.from_holder for m in movements],
                "th": [m.to_holder for m in movements],
                "a": [None if m.allocation_id is None else uuid.UUID(m.allocation_id) for m in movements],
                "d": [m.document_ref for m in movements],
                "ai": [m.actor_id for m in movements],
                "ar": [m.actor_role.value for m in movements],
                "at": [m.at for m in movements],
                "re": [m.register_entry_first for m in movements],
                "n": [m.note for m in movements],
                "bal": [m.balance_after for m in movements],
                "occurred_on": occurred_on,
            },
        )

    async def _set_balances(self, opening: Mapping[StockKey, int], deltas: Mapping[StockKey, int]) -> None:
        """Write the new balances (absolute: the form type's lock is held, nobody else writes them)."""
        items = sorted((k, opening.get(k, 0) + d) for k, d in deltas.items() if d)
        if not items:
            return
        await self.session.execute(
            text(
                "INSERT INTO stock_balances (form_type, holder_key, balance)"
                " SELECT * FROM unnest(CAST(:f AS text[]), CAST(:h AS text[]), CAST(:b AS bigint[]))"
                " ON CONFLICT (form_type, holder_key) DO UPDATE SET balance = EXCLUDED.balance"
            ),
            {
                "f": [k.form_type for k, _ in items],
                "h": [_holder_key(k.holder_unit) for k, _ in items],
                "b": [b for _, b in items],
            },
        )

    async def _add_state_counts(self, change: Change) -> None:
        deltas: dict[tuple[str, str], int] = {}
        for b in change.added:
            key = (b.form_type, b.state.value)
            deltas[key] = deltas.get(key, 0) + b.count
        for b in change.removed:
            key = (b.form_type, b.state.value)
            deltas[key] = deltas.get(key, 0) - b.count
        items = sorted((k, d) for k, d in deltas.items() if d)
        if not items:
            return
        params = {"f": [k[0] for k, _ in items], "s": [k[1] for k, _ in items], "d": [d for _, d in items]}
        await self.session.execute(
            text(
                "INSERT INTO stock_state_counts (form_type, state, count)"
                " SELECT f, s, 0 FROM unnest(CAST(:f AS text[]), CAST(:s AS text[])) AS t(f, s)"
                " ON CONFLICT (form_type, state) DO NOTHING"
            ),
            params,
        )
        await self.session.execute(
            text(
                "UPDATE stock_state_counts c SET count = c.count + t.d"
                " FROM unnest(CAST(:f AS text[]), CAST(:s AS text[]), CAST(:d AS bigint[])) AS t(f, s, d)"
                " WHERE c.form_type = t.f AND c.state = t.s"
            ),
            params,
        )
