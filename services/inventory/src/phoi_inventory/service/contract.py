"""The domain's vocabulary → the contracts' (``phoi_contracts.events.inventory``): the one module that
turns the domain's events and records into the contract events the service publishes.

States and movement kinds have one name everywhere: the domain's, which the REST API and
``stock.movement_recorded.v2`` share (``central``, ``at_unit``, ``receive_return``; v1 spelt them
``in_vault``, ``held``, ``return_received``). The maps below fail at import should a domain name have no
contract counterpart. Ranges become contract ``SerialRange``s; request line numbers
(``line_no``) become the request's line ids through the allocation's lines. Domain events have names of
their own (``RangesAllocated`` → ``allocation.completed.v1``, ``AllocationShort`` →
``allocation.waiting_for_stock.v1``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date

from phoi_contracts.events import inventory as contract
from phoi_contracts.events.common import SerialRange as ContractRange

from phoi_inventory.adapters.allocations import AllocationRecord
from phoi_inventory.domain import (
    MANUAL_KINDS,
    AllocatedLine,
    AllocationShort,
    BlankState,
    Movement,
    MovementKind,
    PrintBatch,
    RangesAllocated,
    SerialRange,
    merge_ranges,
)

STATE: dict[BlankState, contract.BlankState] = {state: contract.BlankState(state.value) for state in BlankState}

KIND: dict[MovementKind, contract.MovementKind] = {kind: contract.MovementKind(kind.value) for kind in MANUAL_KINDS}


def contract_ranges(ranges: Iterable[SerialRange]) -> tuple[ContractRange, ...]:
    return tuple(ContractRange(first=r.first, last=r.last) for r in merge_ranges(ranges))


def contract_lines(record: AllocationRecord, lines: Sequence[AllocatedLine]) -> tuple[contract.AllocatedLine, ...]:
    return tuple(
        contract.AllocatedLine(
            line_id=record.line_by_no(line.line_no).line_id,
            form_type_code=line.form_type,
            quantity=line.quantity,
            ranges=contract_ranges(line.ranges),
        )
        for line in lines
    )


def allocation_completed(event: RangesAllocated, record: AllocationRecord) -> contract.AllocationCompleted:
    return contract.AllocationCompleted(
        request_id=record.row.request_id,
        unit_code=record.row.unit_code,
        allocation_id=record.id,
        approval_revision=record.row.approval_revision,
        lines=contract_lines(record, event.lines),
    )


def allocation_waiting(event: AllocationShort, record: AllocationRecord) -> contract.AllocationWaitingForStock:
    return contract.AllocationWaitingForStock(
        request_id=record.row.request_id,
        unit_code=record.row.unit_code,
        approval_revision=record.row.approval_revision,
        lines=tuple(
            contract.Shortfall(
                line_id=record.line_by_no(s.line_no).line_id,
                form_type_code=s.form_type,
                approved_quantity=s.requested,
                available_quantity=s.available,
                shortfall_quantity=s.missing,
            )
            for s in event.shortfall
        ),
    )


def allocation_released(
    record: AllocationRecord, lines: Sequence[AllocatedLine], *, reason: str
) -> contract.AllocationReleased:
    return contract.AllocationReleased(
        request_id=record.row.request_id,
        unit_code=record.row.unit_code,
        allocation_id=record.id,
        reason=reason,
        lines=contract_lines(record, lines),
    )


def print_batch_received(batch: PrintBatch, batch_id: uuid.UUID) -> contract.PrintBatchReceived:
    return contract.PrintBatchReceived(
        batch_id=batch_id,
        form_type_code=batch.form_type,
        serials=ContractRange(first=batch.serials.first, last=batch.serials.last),
        quantity=batch.quantity,
        printer=batch.printer,
        contract_ref=batch.contract_ref,
        received_on=batch.received_on,
        note=batch.note,
    )


def movement_events(
    movements: Sequence[Movement],
    *,
    movement_id: uuid.UUID,
    unit_code: str,
    document_ref: str,
    occurred_on: date,
    reason: str | None,
    max_register_entries: int,
) -> list[contract.StockMovementRecorded]:
    """One ``stock.movement_recorded`` per state the blanks came from (a destroy may take spoiled and
    obsolete blanks at once); all share the movement id (the operation's id)."""
    groups: dict[BlankState, list[Movement]] = {}
    for m in movements:
        if m.from_state is None:
            continue
        groups.setdefault(m.from_state, []).append(m)
    out = []
    for from_state, lines in groups.items():
        lines = sorted(lines, key=lambda m: m.serials.first)
        quantity = sum(m.quantity for m in lines)
        entries: tuple[str, ...] | None = None
        if lines[0].kind is MovementKind.USE and quantity <= max_register_entries:
            entries = tuple(
                str(m.register_entry_first + i)
                for m in lines
                if m.register_entry_first is not None
                for i in range(m.quantity)
            )
            if len(entries) != quantity:
                entries = None
        out.append(
            contract.StockMovementRecorded(
                movement_id=movement_id,
                kind=KIND[lines[0].kind],
                unit_code=unit_code,
                form_type_code=lines[0].form_type,
                ranges=contract_ranges(m.serials for m in lines),
                quantity=quantity,
                from_state=STATE[from_state],
                to_state=STATE[lines[0].to_state],
                document_ref=document_ref,
                occurred_on=occurred_on,
                reason=reason,
                register_entry_numbers=entries,
            )
        )
    return out
