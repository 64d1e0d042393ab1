"""The allocation queue and releases: the writes every allocation path shares.

Callers hold the queue lock and the locks of every form type involved (``adapters.blocks`` explains the
order). ``run_queue`` gives the waiting allocations, oldest approval first, the lowest free central
serials (all lines of a request or none) and publishes ``allocation.completed`` for those that complete
and ``allocation.waiting_for_stock`` for a newly approved one that must wait.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork

from phoi_inventory.adapters.allocations import (
    COMPLETED,
    OPEN,
    AllocationRecord,
    AllocationRepository,
    ranges_json,
)
from phoi_inventory.adapters.blocks import BlockStore, Loaded
from phoi_inventory.domain import (
    AllocationShort,
    AllocationStatus,
    RangesAllocated,
    central_demand,
    process_allocation_queue,
    ranges_to_load_for_allocation,
    release_allocation,
)
from phoi_inventory.service.context import now, system_context
from phoi_inventory.service.contract import allocation_completed, allocation_released, allocation_waiting

log = get_logger(__name__)


def form_types_of(records: Iterable[AllocationRecord]) -> set[str]:
    return {ft for r in records for ft in r.form_types}


class AllocationQueue:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.store = BlockStore(uow.session)
        self.repo = AllocationRepository(uow.session)

    async def lock(self, extra_form_types: Iterable[str] = ()) -> list[AllocationRecord]:
        """Take the queue lock, read the waiting queue and lock its form types plus ``extra_form_types``.
        Returns the queue as it stands."""
        await self.store.lock_queue()
        queue = await self.repo.waiting_queue()
        await self.store.lock_form_types(form_types_of(queue) | set(extra_form_types))
        return queue

    async def run(self, *, operation_id: uuid.UUID, new_id: uuid.UUID | None = None) -> None:
        """Process the waiting queue (with the locks held). ``new_id``: the allocation just approved,
        which gets a ``waiting_for_stock`` event if it has to wait."""
        queue = await self.repo.waiting_queue()
        if not queue:
            return
        pending = [r.pending(waiting=r.id != new_id) for r in queue]
        loaded = Loaded()
        for form_type, demand in sorted(central_demand(pending).items()):
            await self.store.load_central_for_demand(form_type, demand, loaded)
        at = now()
        result = process_allocation_queue(pending, loaded.all(), system_context(operation_id, at))
        await self.store.write(result.change, loaded)
        by_id = {str(r.id): r for r in queue}
        for outcome in result.outcomes:
            record = by_id[outcome.allocation_id]
            if outcome.status is AllocationStatus.COMPLETED:
                for line in outcome.lines:
                    row = record.line_by_no(line.line_no)
                    row.ranges = ranges_json(line.ranges)
                    row.available_quantity = None
                await self.repo.flush()
                await self.repo.set_status(record, COMPLETED, at=at, completed_at=at)
            else:
                short = {s.line_no: s.available for s in outcome.shortfall}
                for row in record.lines:
                    row.available_quantity = short.get(row.line_no, row.quantity)
        await self.repo.flush()
        for event in result.change.events:
            if isinstance(event, RangesAllocated):
                record = by_id[event.allocation_id]
                self.uow.publish(allocation_completed(event, record))
                log.info("allocation completed", request_id=str(record.row.request_id), allocation_id=str(record.id))
            elif isinstance(event, AllocationShort):
                record = by_id[event.allocation_id]
                self.uow.publish(allocation_waiting(event, record))
                log.info("allocation waiting for stock", request_id=str(record.row.request_id))

    async def close(self, record: AllocationRecord, *, status: str, reason: str, operation_id: uuid.UUID) -> None:
        """End an open allocation: a completed one is released (its serials go back to the central
        stock, ``allocation.released``); a waiting one just leaves the queue. Run the queue afterwards."""
        if record.row.status not in OPEN:
            raise ValueError(f"allocation {record.id} is {record.row.status}, not open")
        at = now()
        if record.row.status == COMPLETED:
            outcome = record.outcome()
            loaded = Loaded()
            for form_type, ranges in sorted(ranges_to_load_for_allocation(outcome).items()):
                await self.store.load_overlapping(form_type, ranges, loaded)
            change = release_allocation(
                outcome, loaded.all(), system_context(operation_id, at), document_ref=str(record.row.request_id)
            )
            await self.store.write(change, loaded)
            self.uow.publish(allocation_released(record, outcome.lines, reason=reason))
        await self.repo.set_status(record, status, at=at, closed_reason=reason)
        log.info("allocation closed", allocation_id=str(record.id), status=status, reason=reason)
