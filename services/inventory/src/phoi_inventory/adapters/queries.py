"""Read-side queries: the ledger as domain ``Movement``s, one serial's block and history, stock summaries,
the gauge counts. Every query is answered from an index, per range."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_inventory.adapters.blocks import BLOCK_COLUMNS, block_of_row, parse_multirange
from phoi_inventory.domain import (
    ActorRole,
    BlankState,
    Block,
    LedgerReason,
    Movement,
    MovementKind,
    SerialRange,
)

LEDGER_COLUMNS = (
    "id, operation_id, kind, reason, form_type, lower(serials) AS lo, upper(serials) AS hi, from_state, to_state,"
    " from_holder, to_holder, allocation_id, document_ref, actor_id, actor_role, at, occurred_on,"
    " register_entry_first, note, balance_after"
)


@dataclass(frozen=True, slots=True)
class LedgerLine:
    id: int
    movement: Movement
    occurred_on: date | None


def ledger_line_of(row: Row[Any]) -> LedgerLine:
    movement = Movement(
        operation_id=str(row.operation_id),
        kind=MovementKind(row.kind),
        reason=LedgerReason(row.reason),
        form_type=row.form_type,
        serials=SerialRange(row.lo, row.hi - 1),
        from_state=None if row.from_state is None else BlankState(row.from_state),
        to_state=BlankState(row.to_state),
        from_holder=row.from_holder,
        to_holder=row.to_holder,
        allocation_id=None if row.allocation_id is None else str(row.allocation_id),
        document_ref=row.document_ref,
        actor_id=row.actor_id,
        actor_role=ActorRole(row.actor_role),
        at=row.at,
        register_entry_first=row.register_entry_first,
        note=row.note,
        balance_after=row.balance_after,
    )
    return LedgerLine(row.id, movement, row.occurred_on)


@dataclass(frozen=True, slots=True)
class StockGroup:
    form_type: str
    state: BlankState
    holder_unit: str | None
    count: int
    blocks: int
    ranges: list[SerialRange]
    ranges_total: int


class Queries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def block_at(self, form_type: str, serial: int) -> Block | None:
        row = (
            await self.session.execute(
                text(f"SELECT {BLOCK_COLUMNS} FROM blocks WHERE form_type = :ft AND serials @> CAST(:s AS bigint)"),  # noqa: S608
                {"ft": form_type, "s": serial},
            )
        ).first()
        return None if row is None else block_of_row(row)

    async def serial_history(self, form_type: str, serial: int) -> list[LedgerLine]:
        rows = await self.session.execute(
            text(
                f"SELECT {LEDGER_COLUMNS} FROM ledger"  # noqa: S608
                " WHERE form_type = :ft AND serials @> CAST(:s AS bigint) ORDER BY id"
            ),
            {"ft": form_type, "s": serial},
        )
        return [ledger_line_of(r) for r in rows]

    async def unit_lines(self, unit: str, form_types: Sequence[str] | None, before: datetime) -> list[LedgerLine]:
        """The unit's ledger lines (it is on either side) recorded before ``before``, in ledger order."""
        clauses = ["unit_code = :unit", "at < :before"]
        params: dict[str, Any] = {"unit": unit, "before": before}
        if form_types is not None:
            clauses.append("form_type = ANY(CAST(:fts AS text[]))")
            params["fts"] = list(form_types)
        rows = await self.session.execute(
            text(f"SELECT {LEDGER_COLUMNS} FROM ledger WHERE {' AND '.join(clauses)} ORDER BY id"),  # noqa: S608
            params,
        )
        return [ledger_line_of(r) for r in rows]

    async def operation_lines(self, operation_id: uuid.UUID) -> list[LedgerLine]:
        rows = await self.session.execute(
            text(f"SELECT {LEDGER_COLUMNS} FROM ledger WHERE operation_id = :op ORDER BY id"),  # noqa: S608
            {"op": operation_id},
        )
        return [ledger_line_of(r) for r in rows]

    async def stock(
        self,
        *,
        form_type: str | None,
        holder: str | None,
        central_only: bool,
        states: Sequence[str] | None,
        max_ranges: int,
    ) -> list[StockGroup]:
        """Counts and merged inclusive ranges per (form type, state, holder)."""
        clauses = ["TRUE"]
        params: dict[str, Any] = {}
        if form_type is not None:
            clauses.append("form_type = :ft")
            params["ft"] = form_type
        if central_only:
            clauses.append("holder_unit IS NULL")
        elif holder is not None:
            clauses.append("holder_unit = :holder")
            params["holder"] = holder
        if states:
            clauses.append("state = ANY(CAST(:states AS text[]))")
            params["states"] = list(states)
        rows = await self.session.execute(
            text(
                "SELECT form_type, state, holder_unit, sum(upper(serials) - lower(serials)) AS quantity,"  # noqa: S608
                " count(*) AS blocks, range_agg(serials)::text AS ranges FROM blocks"
                f" WHERE {' AND '.join(clauses)} GROUP BY form_type, state, holder_unit"
                " ORDER BY form_type, holder_unit NULLS FIRST, state"
            ),
            params,
        )
        out = []
        for row in rows:
            ranges = parse_multirange(row.ranges)
            out.append(
                StockGroup(
                    form_type=row.form_type,
                    state=BlankState(row.state),
                    holder_unit=row.holder_unit,
                    count=int(row.quantity),
                    blocks=int(row.blocks),
                    ranges=ranges[:max_ranges],
                    ranges_total=len(ranges),
                )
            )
        return out

    async def state_counts(self) -> list[tuple[str, str, int]]:
        rows = await self.session.execute(
            text("SELECT form_type, state, count AS n FROM stock_state_counts ORDER BY form_type, state")
        )
        return [(r.form_type, r.state, int(r.n)) for r in rows]
