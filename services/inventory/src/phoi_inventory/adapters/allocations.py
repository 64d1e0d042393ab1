"""Allocations (one per request and approval revision) and their lines.

A line keeps the domain's ``line_no`` (its 1-based position among the approved lines), the request's
``line_id`` it answers, and the allocated ranges as ``[[first, last], ...]`` (a handful per line).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_inventory.domain import (
    AllocatedLine,
    AllocationOutcome,
    AllocationStatus,
    PendingAllocation,
    RequestedLine,
    SerialRange,
)
from phoi_inventory.models import AllocationLineRow, AllocationRow

WAITING = "waiting_for_stock"
COMPLETED = "completed"
RECEIVED = "received"
RELEASED = "released"
SUPERSEDED = "superseded"
CANCELLED = "cancelled"
#: Statuses in which an allocation still holds (or waits for) serials.
OPEN = (WAITING, COMPLETED)


def ranges_json(ranges: Iterable[SerialRange]) -> list[list[int]]:
    return [[r.first, r.last] for r in ranges]


def ranges_of(value: Sequence[Sequence[int]] | None) -> tuple[SerialRange, ...]:
    return tuple(SerialRange(int(a), int(b)) for a, b in (value or ()))


@dataclass
class AllocationRecord:
    row: AllocationRow
    lines: list[AllocationLineRow]

    @property
    def id(self) -> uuid.UUID:
        return self.row.id

    @property
    def form_types(self) -> set[str]:
        return {line.form_type for line in self.lines}

    def line_by_no(self, line_no: int) -> AllocationLineRow:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        raise KeyError(line_no)

    def pending(self, *, waiting: bool) -> PendingAllocation:
        return PendingAllocation(
            allocation_id=str(self.row.id),
            request_id=str(self.row.request_id),
            unit=self.row.unit_code,
            lines=tuple(RequestedLine(line.form_type, line.quantity) for line in self.lines),
            waiting=waiting,
        )

    def outcome(self) -> AllocationOutcome:
        """The completed allocation as the domain knows it (for receipt and release)."""
        return AllocationOutcome(
            allocation_id=str(self.row.id),
            request_id=str(self.row.request_id),
            unit=self.row.unit_code,
            status=AllocationStatus.COMPLETED,
            lines=tuple(
                AllocatedLine(line.line_no, line.form_type, line.quantity, ranges_of(line.ranges))
                for line in self.lines
            ),
        )


class AllocationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _with_lines(self, rows: Sequence[AllocationRow]) -> list[AllocationRecord]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        lines = (
            await self.session.execute(
                select(AllocationLineRow)
                .where(AllocationLineRow.allocation_id.in_(ids))
                .order_by(AllocationLineRow.allocation_id, AllocationLineRow.line_no)
            )
        ).scalars()
        by_id: dict[uuid.UUID, list[AllocationLineRow]] = {i: [] for i in ids}
        for line in lines:
            by_id[line.allocation_id].append(line)
        return [AllocationRecord(r, by_id[r.id]) for r in rows]

    async def get(self, allocation_id: uuid.UUID) -> AllocationRecord | None:
        row = await self.session.get(AllocationRow, allocation_id)
        if row is None:
            return None
        return (await self._with_lines([row]))[0]

    async def for_request(self, request_id: uuid.UUID) -> list[AllocationRecord]:
        rows = (
            await self.session.execute(
                select(AllocationRow)
                .where(AllocationRow.request_id == request_id)
                .order_by(AllocationRow.approval_revision)
            )
        ).scalars()
        return await self._with_lines(list(rows))

    async def waiting_queue(self) -> list[AllocationRecord]:
        """Waiting allocations, oldest approval first (call with the queue lock held)."""
        rows = (
            await self.session.execute(
                select(AllocationRow).where(AllocationRow.status == WAITING).order_by(AllocationRow.seq)
            )
        ).scalars()
        return await self._with_lines(list(rows))

    async def add(self, row: AllocationRow, lines: Sequence[AllocationLineRow]) -> AllocationRecord:
        self.session.add(row)
        await self.session.flush()
        self.session.add_all(lines)
        await self.session.flush()
        await self.session.refresh(row)
        return AllocationRecord(row, list(lines))

    async def set_status(self, record: AllocationRecord, status: str, *, at: datetime, **values: Any) -> None:
        await self.session.execute(
            update(AllocationRow).where(AllocationRow.id == record.id).values(status=status, updated_at=at, **values)
        )
        await self.session.refresh(record.row)

    async def flush(self) -> None:
        await self.session.flush()

    async def page(
        self,
        *,
        request_id: uuid.UUID | None,
        unit_code: str | None,
        status: str | None,
        after_seq: int | None,
        limit: int,
    ) -> list[AllocationRecord]:
        query = select(AllocationRow).order_by(AllocationRow.seq).limit(limit)
        if request_id is not None:
            query = query.where(AllocationRow.request_id == request_id)
        if unit_code is not None:
            query = query.where(AllocationRow.unit_code == unit_code)
        if status is not None:
            query = query.where(AllocationRow.status == status)
        if after_seq is not None:
            query = query.where(AllocationRow.seq > after_seq)
        rows = (await self.session.execute(query)).scalars()
        return await self._with_lines(list(rows))
