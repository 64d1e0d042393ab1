"""Domain events returned in a ``Change``: what happened to the stock, in the domain's words.

They are named apart from the versioned contract events (``phoi_contracts.events.inventory``) on purpose:
the domain's ``RangesAllocated`` is not the wire's ``allocation.completed.v1``, which also carries the
request's line ids and approval revision. ``service/contract.py`` is the one place that maps between them;
the service writes the contract events to the outbox in the same transaction as the blocks and ledger."""

from __future__ import annotations

from dataclasses import dataclass

from phoi_inventory.domain.ranges import SerialRange
from phoi_inventory.domain.states import BlankState, MovementKind

__all__ = [
    "AllocatedLine",
    "AllocationDelivered",
    "AllocationShort",
    "BlanksMoved",
    "DomainEvent",
    "LineShortfall",
    "PrintBatchStocked",
    "RangesAllocated",
    "RangesReleased",
]


@dataclass(frozen=True, slots=True)
class AllocatedLine:
    """One request line's allocation: contiguous ranges, lowest serials first."""

    line_no: int
    form_type: str
    quantity: int
    ranges: tuple[SerialRange, ...]


@dataclass(frozen=True, slots=True)
class LineShortfall:
    """``available`` is what this request could get at its place in the queue (after older waiting
    requests' demand); ``missing = requested - available``."""

    line_no: int
    form_type: str
    requested: int
    available: int

    @property
    def missing(self) -> int:
        return self.requested - self.available


@dataclass(frozen=True, slots=True)
class PrintBatchStocked:
    batch_id: str
    form_type: str
    serials: SerialRange
    printer: str
    contract_ref: str


@dataclass(frozen=True, slots=True)
class RangesAllocated:
    allocation_id: str
    request_id: str
    unit: str
    lines: tuple[AllocatedLine, ...]


@dataclass(frozen=True, slots=True)
class AllocationShort:
    allocation_id: str
    request_id: str
    unit: str
    shortfall: tuple[LineShortfall, ...]


@dataclass(frozen=True, slots=True)
class AllocationDelivered:
    allocation_id: str
    request_id: str
    unit: str
    lines: tuple[AllocatedLine, ...]


@dataclass(frozen=True, slots=True)
class RangesReleased:
    allocation_id: str
    request_id: str
    unit: str
    lines: tuple[AllocatedLine, ...]


@dataclass(frozen=True, slots=True)
class BlanksMoved:
    """A recorded movement (use, spoil, lose, destroy, return, receive_return) as one event."""

    operation_id: str
    kind: MovementKind
    form_type: str
    holder_unit: str | None
    to_state: BlankState
    ranges: tuple[SerialRange, ...]
    quantity: int
    document_ref: str | None


DomainEvent = PrintBatchStocked | RangesAllocated | AllocationShort | AllocationDelivered | RangesReleased | BlanksMoved
