"""The inventory domain: serial ranges, blocks, the ledger and the rules that move blanks between states.

Pure Python, no I/O, no clock, no id generation. Every operation takes the blocks it concerns and returns
a ``Change`` (blocks removed, blocks added, ledger lines, domain events) or raises an ``InventoryError``
(stable ``code``, ``details()``; the API gives it an HTTP status). Nothing is ever done per serial: cost grows with the
number of ranges touched, so allocating 500,000 blanks writes one block row and one ledger line.

Persistence contract (one transaction per operation, ``SELECT ... FOR UPDATE`` on what is loaded):

* What to load (blocks overlapping, i.e. ``int8range && int8range``):
  - print batch: ``blocks_to_load_for_print_batch(batch)`` - the batch range widened by one;
  - allocation queue: per form type of ``central_demand(queue)``, central blocks in ascending serial
    order until their total reaches the demand (or all of them);
  - receipt / release: ``ranges_to_load_for_allocation(outcome)``;
  - movements: ``ranges_to_load_for_movement(request)``.
  Widening by one serial lets moved blocks merge with identical neighbours.
* What to write: delete ``change.removed`` (each equals a stored row), insert ``change.added``, append
  ``change.with_balances(opening).movements`` to the ledger, where ``opening`` holds the current stock
  balance of each key in ``change.balance_keys()`` (then add ``change.balance_deltas()`` to them), and
  put ``change.events`` in the outbox. ``Change.then`` composes two operations in one transaction.
* After anything that grows central stock (print batch, ``receive_return``, release), re-run the waiting
  queue with ``process_allocation_queue`` (waiting allocations in approval order).
* ``replay_ledger`` rebuilds the blocks from the ledger: use it to verify the block table.
"""

from phoi_inventory.domain.allocation import (
    AllocationOutcome,
    AllocationStatus,
    PendingAllocation,
    QueueResult,
    RequestedLine,
    allocate,
    central_demand,
    confirm_receipt,
    process_allocation_queue,
    ranges_to_load_for_allocation,
    release_allocation,
)
from phoi_inventory.domain.batches import PrintBatch, blocks_to_load_for_print_batch, receive_print_batch
from phoi_inventory.domain.blocks import Block, BlockAttrs, check_partition, merge_adjacent
from phoi_inventory.domain.change import Change, apply_change
from phoi_inventory.domain.context import Actor, OperationContext
from phoi_inventory.domain.errors import (
    AllocationNotCompletedError,
    AllocationRangesMismatchError,
    DocumentRequiredError,
    DuplicateRegisterEntriesError,
    DuplicateSerialsError,
    EmptyRequestError,
    ForbiddenMovementError,
    InactiveFormTypeError,
    InvalidAllocationRequestError,
    InvalidFormTypeError,
    InvalidPeriodError,
    InvalidPrintBatchError,
    InvalidRangeError,
    InvalidRegisterEntriesError,
    InvariantViolationError,
    InventoryError,
    PrintBatchOverlapError,
    ReasonNotAllowedError,
    ReversedRangeError,
    SerialFormatError,
    SerialsNotHeldError,
    UnknownTransitionError,
    UnsupportedMovementKindError,
    WrongStateError,
)
from phoi_inventory.domain.events import (
    AllocatedLine,
    AllocationDelivered,
    AllocationShort,
    BlanksMoved,
    DomainEvent,
    LineShortfall,
    PrintBatchStocked,
    RangesAllocated,
    RangesReleased,
)
from phoi_inventory.domain.form_types import FormType
from phoi_inventory.domain.ledger import Movement, StockKey, balance_deltas, balance_keys, stamp_balances
from phoi_inventory.domain.movements import (
    MovementItem,
    MovementRequest,
    normalise_items,
    ranges_to_load_for_movement,
    record_movement,
)
from phoi_inventory.domain.ranges import (
    SerialRange,
    count_serials,
    intersect_ranges,
    merge_ranges,
    normalise_ranges,
    subtract_ranges,
    take_lowest,
)
from phoi_inventory.domain.replay import replay_ledger, serial_history
from phoi_inventory.domain.reports import (
    RangeTally,
    StockLine,
    UsageReport,
    count_by_state,
    summarise_blocks,
    usage_report,
    usage_reports,
)
from phoi_inventory.domain.states import (
    MANUAL_KINDS,
    ON_HAND_STATES,
    TRANSITIONS,
    ActorRole,
    BlankState,
    Custody,
    DocumentKind,
    LedgerReason,
    MovementKind,
    Transition,
    find_transition,
    transitions_for,
)

__all__ = [
    "MANUAL_KINDS",
    "ON_HAND_STATES",
    "TRANSITIONS",
    "Actor",
    "ActorRole",
    "AllocatedLine",
    "AllocationDelivered",
    "AllocationNotCompletedError",
    "AllocationOutcome",
    "AllocationRangesMismatchError",
    "AllocationShort",
    "AllocationStatus",
    "BlankState",
    "BlanksMoved",
    "Block",
    "BlockAttrs",
    "Change",
    "Custody",
    "DocumentKind",
    "DocumentRequiredError",
    "DomainEvent",
    "DuplicateRegisterEntriesError",
    "DuplicateSerialsError",
    "EmptyRequestError",
    "ForbiddenMovementError",
    "FormType",
    "InactiveFormTypeError",
    "InvalidAllocationRequestError",
    "InvalidFormTypeError",
    "InvalidPeriodError",
    "InvalidPrintBatchError",
    "InvalidRangeError",
    "InvalidRegisterEntriesError",
    "InvariantViolationError",
    "InventoryError",
    "LedgerReason",
    "LineShortfall",
    "Movement",
    "MovementItem",
    "MovementKind",
    "MovementRequest",
    "OperationContext",
    "PendingAllocation",
    "PrintBatch",
    "PrintBatchOverlapError",
    "PrintBatchStocked",
    "QueueResult",
    "RangeTally",
    "RangesAllocated",
    "RangesReleased",
    "ReasonNotAllowedError",
    "RequestedLine",
    "ReversedRangeError",
    "SerialFormatError",
    "SerialRange",
    "SerialsNotHeldError",
    "StockKey",
    "StockLine",
    "Transition",
    "UnknownTransitionError",
    "UnsupportedMovementKindError",
    "UsageReport",
    "WrongStateError",
    "allocate",
    "apply_change",
    "balance_deltas",
    "balance_keys",
    "blocks_to_load_for_print_batch",
    "central_demand",
    "check_partition",
    "confirm_receipt",
    "count_by_state",
    "count_serials",
    "find_transition",
    "intersect_ranges",
    "merge_adjacent",
    "merge_ranges",
    "normalise_items",
    "normalise_ranges",
    "process_allocation_queue",
    "ranges_to_load_for_allocation",
    "ranges_to_load_for_movement",
    "receive_print_batch",
    "record_movement",
    "release_allocation",
    "replay_ledger",
    "serial_history",
    "stamp_balances",
    "subtract_ranges",
    "summarise_blocks",
    "take_lowest",
    "transitions_for",
    "usage_report",
    "usage_reports",
]
