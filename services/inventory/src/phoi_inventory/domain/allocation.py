"""Allocation of serial ranges to approved requests, receipt by the unit, and release.

Queue policy (``process_allocation_queue``): pending allocations are processed in the order given
(oldest approval first). A request completes only if *every* line can be served (all or nothing), each
line taking the lowest free central serials as contiguous ranges. A request that cannot complete keeps
its place: its whole demand per form type is reserved against the stock that later requests may take,
so a large old request is never starved by a stream of small new ones, while requests for other form
types still go ahead.

Run the queue (waiting allocations in approval order, the new one last) whenever a request is approved
and whenever central stock grows (print batch, returned blanks received back, allocation released).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from phoi_inventory.domain.blocks import Block, BlockAttrs
from phoi_inventory.domain.change import Change
from phoi_inventory.domain.context import OperationContext
from phoi_inventory.domain.errors import (
    AllocationNotCompletedError,
    AllocationRangesMismatchError,
    ForbiddenMovementError,
    InvalidAllocationRequestError,
    InvariantViolationError,
)
from phoi_inventory.domain.events import (
    AllocatedLine,
    AllocationDelivered,
    AllocationShort,
    LineShortfall,
    RangesAllocated,
    RangesReleased,
)
from phoi_inventory.domain.ranges import SerialRange, merge_ranges, take_lowest
from phoi_inventory.domain.states import ActorRole, BlankState, MovementKind, find_transition
from phoi_inventory.domain.workspace import Workspace, movements_from_pieces

__all__ = [
    "AllocationOutcome",
    "AllocationStatus",
    "PendingAllocation",
    "QueueResult",
    "RequestedLine",
    "allocate",
    "central_demand",
    "confirm_receipt",
    "process_allocation_queue",
    "ranges_to_load_for_allocation",
    "release_allocation",
]


class AllocationStatus(StrEnum):
    COMPLETED = "completed"
    WAITING_FOR_STOCK = "waiting_for_stock"


@dataclass(frozen=True, slots=True)
class RequestedLine:
    form_type: str
    quantity: int

    def __post_init__(self) -> None:
        if not self.form_type:
            raise InvalidAllocationRequestError("a line names its form type")
        if isinstance(self.quantity, bool) or self.quantity < 1:
            raise InvalidAllocationRequestError(f"line {self.form_type}: quantity must be at least 1")


@dataclass(frozen=True, slots=True)
class PendingAllocation:
    """An approved request to allocate. ``allocation_id`` is chosen by the caller (e.g. the request id).
    ``waiting`` says it is already known to be waiting, so no second ``AllocationShort`` is
    emitted for it while it stays short."""

    allocation_id: str
    request_id: str
    unit: str
    lines: tuple[RequestedLine, ...]
    waiting: bool = False

    def __post_init__(self) -> None:
        if not self.allocation_id or not self.request_id or not self.unit:
            raise InvalidAllocationRequestError("allocation id, request id and unit are required")
        if not self.lines:
            raise InvalidAllocationRequestError("a request has at least one line")

    def demand(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.form_type] = out.get(line.form_type, 0) + line.quantity
        return out


@dataclass(frozen=True, slots=True)
class AllocationOutcome:
    """``lines`` (ranges per line) when completed; ``shortfall`` per line when waiting for stock."""

    allocation_id: str
    request_id: str
    unit: str
    status: AllocationStatus
    lines: tuple[AllocatedLine, ...] = ()
    shortfall: tuple[LineShortfall, ...] = ()

    def ranges_by_form_type(self) -> dict[str, tuple[SerialRange, ...]]:
        grouped: dict[str, list[SerialRange]] = {}
        for line in self.lines:
            grouped.setdefault(line.form_type, []).extend(line.ranges)
        return {ft: merge_ranges(rs) for ft, rs in grouped.items()}


@dataclass(frozen=True, slots=True)
class QueueResult:
    outcomes: tuple[AllocationOutcome, ...]
    change: Change

    @property
    def completed(self) -> tuple[AllocationOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status is AllocationStatus.COMPLETED)

    @property
    def waiting(self) -> tuple[AllocationOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status is AllocationStatus.WAITING_FOR_STOCK)


def central_demand(queue: Iterable[PendingAllocation]) -> dict[str, int]:
    """Per form type, how many central serials the persistence layer must load for the queue: load the
    central blocks of each form type in ascending serial order until their total reaches this number
    (or all of them if there are fewer). Shortfalls are only exact if that rule is followed."""
    out: dict[str, int] = {}
    for p in queue:
        for ft, q in p.demand().items():
            out[ft] = out.get(ft, 0) + q
    return out


def _to_allocated(unit: str, allocation_id: str) -> Callable[[Block, SerialRange], BlockAttrs]:
    def decide(b: Block, part: SerialRange) -> BlockAttrs:
        if b.state is not BlankState.CENTRAL:
            raise InvariantViolationError(f"{b.form_type} {part} chosen for allocation is not central")
        return BlockAttrs(b.form_type, BlankState.ALLOCATED, unit, allocation_id)

    return decide


def _invariant_gap(what: str) -> Callable[[SerialRange], Exception]:
    def on_gap(part: SerialRange) -> Exception:
        return InvariantViolationError(f"{what}: serials {part} are in no block")

    return on_gap


def _check_role(kind: MovementKind, ctx: OperationContext) -> None:
    rule = find_transition(kind, BlankState.CENTRAL if kind is MovementKind.ALLOCATE else BlankState.ALLOCATED)
    if ctx.actor.role not in rule.roles:
        raise ForbiddenMovementError(kind, ctx.actor.role, f"allowed for {', '.join(sorted(rule.roles))}")


def process_allocation_queue(
    queue: Sequence[PendingAllocation], blocks: Iterable[Block], ctx: OperationContext
) -> QueueResult:
    """Decide which pending allocations complete, oldest first (see the module docstring).

    ``blocks``: for each form type in ``central_demand(queue)``, the central blocks in ascending serial
    order until their total reaches the demand (or all). Other blocks may be included; they are ignored
    except for merging. Returns one outcome per queue entry (same order) and the combined ``Change``:
    ledger lines ``central -> allocated`` and ``RangesAllocated`` / ``AllocationShort``
    events (the latter only for entries not already ``waiting``).
    """
    _check_role(MovementKind.ALLOCATE, ctx)
    ids = [p.allocation_id for p in queue]
    if len(set(ids)) != len(ids):
        raise InvalidAllocationRequestError("an allocation appears twice in the queue")
    rule = find_transition(MovementKind.ALLOCATE, BlankState.CENTRAL)
    ws = Workspace(blocks)
    available: dict[str, int] = {}
    for b in ws.blocks():
        if b.state is BlankState.CENTRAL:
            available[b.form_type] = available.get(b.form_type, 0) + b.count
    outcomes: list[AllocationOutcome] = []
    for p in queue:
        demand = p.demand()
        if all(q <= available.get(ft, 0) for ft, q in demand.items()):
            lines: list[AllocatedLine] = []
            for n, line in enumerate(p.lines, start=1):
                free = [b.serials for b in ws.find(line.form_type, lambda b: b.state is BlankState.CENTRAL)]
                taken, _ = take_lowest(free, line.quantity)
                pieces = ws.transform(
                    line.form_type,
                    taken,
                    _to_allocated(p.unit, p.allocation_id),
                    _invariant_gap("allocation"),
                )
                ws.record(
                    movements_from_pieces(
                        pieces,
                        ctx=ctx,
                        kind=MovementKind.ALLOCATE,
                        reason_of=lambda _p: rule.default_reason,
                        document_ref=p.request_id,
                    )
                )
                lines.append(AllocatedLine(n, line.form_type, line.quantity, taken))
            for ft, q in demand.items():
                available[ft] -= q
            outcome = AllocationOutcome(
                p.allocation_id, p.request_id, p.unit, AllocationStatus.COMPLETED, lines=tuple(lines)
            )
            ws.emit(RangesAllocated(p.allocation_id, p.request_id, p.unit, outcome.lines))
        else:
            left = dict(available)
            shortfall: list[LineShortfall] = []
            for n, line in enumerate(p.lines, start=1):
                got = min(line.quantity, left.get(line.form_type, 0))
                left[line.form_type] = left.get(line.form_type, 0) - got
                if got < line.quantity:
                    shortfall.append(LineShortfall(n, line.form_type, line.quantity, got))
            for ft, q in demand.items():
                available[ft] = max(0, available.get(ft, 0) - q)
            outcome = AllocationOutcome(
                p.allocation_id,
                p.request_id,
                p.unit,
                AllocationStatus.WAITING_FOR_STOCK,
                shortfall=tuple(shortfall),
            )
            if not p.waiting:
                ws.emit(AllocationShort(p.allocation_id, p.request_id, p.unit, outcome.shortfall))
        outcomes.append(outcome)
    return QueueResult(tuple(outcomes), ws.change())


def allocate(request: PendingAllocation, blocks: Iterable[Block], ctx: OperationContext) -> QueueResult:
    """A queue of one: only right when no older allocation is waiting (otherwise run the whole queue)."""
    return process_allocation_queue((request,), blocks, ctx)


def ranges_to_load_for_allocation(allocation: AllocationOutcome) -> Mapping[str, tuple[SerialRange, ...]]:
    """For receipt/release: load every block overlapping these ranges (each widened by one serial, so
    the moved blocks merge with adjacent identical ones)."""
    return {ft: tuple(r.widened(1) for r in rs) for ft, rs in allocation.ranges_by_form_type().items()}


def _move_allocation(
    allocation: AllocationOutcome,
    blocks: Iterable[Block],
    ctx: OperationContext,
    *,
    kind: MovementKind,
    to_state: BlankState,
    document_ref: str | None,
) -> Workspace:
    if allocation.status is not AllocationStatus.COMPLETED:
        raise AllocationNotCompletedError(allocation.allocation_id)
    _check_role(kind, ctx)
    if ctx.actor.role is ActorRole.UNIT and ctx.actor.unit_code != allocation.unit:
        raise ForbiddenMovementError(kind, ctx.actor.role, "the allocation belongs to another unit")
    rule = find_transition(kind, BlankState.ALLOCATED)
    to_holder = allocation.unit if to_state is not BlankState.CENTRAL else None
    ws = Workspace(blocks)
    for ft, ranges in sorted(allocation.ranges_by_form_type().items()):

        def decide(b: Block, part: SerialRange, ft: str = ft) -> BlockAttrs:
            if b.state is not BlankState.ALLOCATED or b.allocation_id != allocation.allocation_id:
                raise AllocationRangesMismatchError(allocation.allocation_id, ft, part)
            return BlockAttrs(ft, to_state, to_holder, None)

        def on_gap(part: SerialRange, ft: str = ft) -> Exception:
            return AllocationRangesMismatchError(allocation.allocation_id, ft, part)

        pieces = ws.transform(ft, ranges, decide, on_gap)
        ws.record(
            movements_from_pieces(
                pieces,
                ctx=ctx,
                kind=kind,
                reason_of=lambda _p: rule.default_reason,
                document_ref=document_ref,
            )
        )
    return ws


def confirm_receipt(
    allocation: AllocationOutcome,
    blocks: Iterable[Block],
    ctx: OperationContext,
    *,
    document_ref: str | None = None,
) -> Change:
    """The unit confirmed receipt: every allocated range moves to ``at_unit`` (holder = the unit).

    All or nothing: if any range is no longer allocated to this allocation,
    ``AllocationRangesMismatchError`` names the first. ``blocks``: see ``ranges_to_load_for_allocation``.
    ``document_ref``: the handover record / proof of delivery.
    """
    ws = _move_allocation(
        allocation,
        blocks,
        ctx,
        kind=MovementKind.RECEIVE,
        to_state=BlankState.AT_UNIT,
        document_ref=document_ref,
    )
    ws.emit(AllocationDelivered(allocation.allocation_id, allocation.request_id, allocation.unit, allocation.lines))
    return ws.change()


def release_allocation(
    allocation: AllocationOutcome,
    blocks: Iterable[Block],
    ctx: OperationContext,
    *,
    document_ref: str | None = None,
) -> Change:
    """Cancel a completed allocation before receipt (e.g. the approved quantity changed): its ranges go
    back to ``central``. Run the waiting queue afterwards; re-allocate the request if it still stands."""
    ws = _move_allocation(
        allocation,
        blocks,
        ctx,
        kind=MovementKind.RELEASE,
        to_state=BlankState.CENTRAL,
        document_ref=document_ref,
    )
    ws.emit(RangesReleased(allocation.allocation_id, allocation.request_id, allocation.unit, allocation.lines))
    return ws.change()
