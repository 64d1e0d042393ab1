"""What the read endpoints answer: stock on hand, one serial's state and history, allocations, usage reports.

Units see their own only: a unit's stock, its allocations, the serials it holds (with the history lines
of its own custody and QLCL's, never another unit's), its usage report. Another unit's data is answered
as not found (404), so existence does not leak.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from phoi_kit.auth import CurrentUser
from phoi_kit.errors import NotFound, Unprocessable
from phoi_kit.uow import UnitOfWork
from phoi_kit.vietnam import vietnam_day_end, vietnam_day_start

from phoi_inventory.adapters.allocations import AllocationRecord, AllocationRepository
from phoi_inventory.adapters.catalogue import FormTypeRepository, form_type_of
from phoi_inventory.adapters.queries import LedgerLine, Queries, StockGroup
from phoi_inventory.domain import MANUAL_KINDS, Block, FormType, InvalidPeriodError, usage_report
from phoi_inventory.service.context import now
from phoi_inventory.service.reports import UsageReportSet, sorted_reports
from phoi_inventory.settings import Settings


@dataclass(frozen=True, slots=True)
class SerialView:
    form_type: FormType
    serial: int
    block: Block
    request_id: uuid.UUID | None
    history: list[LedgerLine]


class Reads:
    def __init__(self, uow: UnitOfWork, settings: Settings) -> None:
        self.uow = uow
        self.settings = settings
        self.queries = Queries(uow.session)
        self.form_types = FormTypeRepository(uow.session)

    def scope_unit(self, user: CurrentUser, unit_code: str | None) -> str | None:
        """The unit a query is about: a unit account's own (another unit's → 404), else what was asked."""
        if user.is_unit:
            if unit_code is not None:
                user.ensure_unit_scope(unit_code, what="unit")
            return user.unit_code
        return unit_code

    async def form_type(self, code: str) -> FormType:
        row = await self.form_types.get(code)
        if row is None:
            raise NotFound(f"There is no form type {code!r}.", code="form_type_not_found")
        return form_type_of(row)

    async def stock(
        self, user: CurrentUser, *, form_type: str | None, unit_code: str | None, states: list[str] | None
    ) -> list[StockGroup]:
        unit = self.scope_unit(user, unit_code)
        central = unit == self.settings.issuer_unit_code and not user.is_unit
        return await self.queries.stock(
            form_type=form_type,
            holder=None if central else unit,
            central_only=central,
            states=states,
            max_ranges=self.settings.stock_max_ranges,
        )

    async def serial(self, user: CurrentUser, form_type_code: str, serial_text: str) -> SerialView:
        form_type = await self.form_type(form_type_code)
        raw = serial_text.strip()
        serial = form_type.check_serial(int(raw)) if raw.isascii() and raw.isdigit() else form_type.parse_serial(raw)
        block = await self.queries.block_at(form_type.code, serial)
        hidden = block is None or (user.is_unit and block.holder_unit != user.unit_code)
        if block is None or hidden:
            raise NotFound(f"No blank {form_type.format_serial(serial)} is known to you.", code="serial_not_found")
        history = await self.queries.serial_history(form_type.code, serial)
        if user.is_unit:
            history = [line for line in history if line.movement.unit in (None, user.unit_code)]
        request_id = None
        if block.allocation_id is not None:
            record = await AllocationRepository(self.uow.session).get(uuid.UUID(block.allocation_id))
            request_id = None if record is None else record.row.request_id
        return SerialView(form_type, serial, block, request_id, history)

    async def allocations(
        self,
        user: CurrentUser,
        *,
        request_id: uuid.UUID | None,
        unit_code: str | None,
        status: str | None,
        after_seq: int | None,
        limit: int,
    ) -> list[AllocationRecord]:
        unit = self.scope_unit(user, unit_code)
        return await AllocationRepository(self.uow.session).page(
            request_id=request_id, unit_code=unit, status=status, after_seq=after_seq, limit=limit
        )

    async def allocation(self, user: CurrentUser, allocation_id: uuid.UUID) -> AllocationRecord:
        record = await AllocationRepository(self.uow.session).get(allocation_id)
        if record is None or (user.is_unit and record.row.unit_code != user.unit_code):
            raise NotFound("No such allocation.", code="allocation_not_found")
        return record

    async def movement(self, user: CurrentUser, movement_id: uuid.UUID) -> list[LedgerLine]:
        """The ledger lines of one recorded movement; another unit's answers as if it did not exist."""
        lines = await self.queries.operation_lines(movement_id)
        manual = [line for line in lines if line.movement.kind in MANUAL_KINDS]
        if not manual or (user.is_unit and any(line.movement.unit != user.unit_code for line in manual)):
            raise NotFound("No such movement.", code="movement_not_found")
        return manual

    async def usage(
        self,
        user: CurrentUser,
        *,
        unit_code: str | None,
        form_type: str | None,
        period_from: date,
        period_to: date,
    ) -> UsageReportSet:
        unit = self.scope_unit(user, unit_code)
        if unit is None:
            raise Unprocessable("Name the unit (unit_code) the report is about.", code="unit_code_required")
        start, end = vietnam_day_start(period_from), vietnam_day_end(period_to)
        if not start < end:
            raise InvalidPeriodError(period_from, period_to)
        form_types = [form_type] if form_type is not None else None
        if form_type is not None:
            await self.form_type(form_type)
        lines = [line.movement for line in await self.queries.unit_lines(unit, form_types, end)]
        codes = sorted({m.form_type for m in lines} | set(form_types or ()))
        reports = [usage_report(lines, unit=unit, form_type=code, period_start=start, period_end=end) for code in codes]
        rows = await self.form_types.many(codes)
        return UsageReportSet(
            unit_code=unit,
            period_from=period_from,
            period_to=period_to,
            reports=sorted_reports(reports),
            form_types={code: form_type_of(row) for code, row in rows.items()},
            generated_at=now(),
        )
