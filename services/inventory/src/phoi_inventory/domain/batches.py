"""Print batches: serials received from the printer enter the central stock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from phoi_inventory.domain.blocks import Block
from phoi_inventory.domain.change import Change
from phoi_inventory.domain.context import OperationContext
from phoi_inventory.domain.errors import (
    ForbiddenMovementError,
    InactiveFormTypeError,
    InvalidPrintBatchError,
    PrintBatchOverlapError,
)
from phoi_inventory.domain.events import PrintBatchStocked
from phoi_inventory.domain.form_types import FormType
from phoi_inventory.domain.ranges import SerialRange
from phoi_inventory.domain.states import BlankState, MovementKind, find_transition
from phoi_inventory.domain.workspace import Workspace, new_block_movement

__all__ = ["PrintBatch", "blocks_to_load_for_print_batch", "receive_print_batch"]


@dataclass(frozen=True, slots=True)
class PrintBatch:
    batch_id: str
    form_type: str
    serials: SerialRange
    printer: str
    contract_ref: str
    received_on: date
    note: str | None = None

    def __post_init__(self) -> None:
        for field, value in (
            ("batch_id", self.batch_id),
            ("form_type", self.form_type),
            ("printer", self.printer),
            ("contract_ref", self.contract_ref),
        ):
            if not value or not value.strip():
                raise InvalidPrintBatchError(field, "is required")

    @property
    def quantity(self) -> int:
        return self.serials.count


def blocks_to_load_for_print_batch(batch: PrintBatch) -> tuple[str, SerialRange]:
    """Load every block of this form type overlapping this range (the batch plus one serial each side,
    so the new central block merges with an adjacent central block)."""
    return batch.form_type, batch.serials.widened(1)


def receive_print_batch(
    batch: PrintBatch, form_type: FormType, blocks: Iterable[Block], ctx: OperationContext
) -> Change:
    """Record a print batch into the central stock (QLCL only).

    ``blocks``: every stored block of the form type overlapping ``batch.serials.widened(1)``. Blocks are
    never deleted (destroyed blanks stay as ``destroyed`` blocks), so any overlap means the serials were
    already printed: ``PrintBatchOverlapError`` names the lowest conflicting run.
    """
    rule = find_transition(MovementKind.RECEIVE_PRINT, None)
    if ctx.actor.role not in rule.roles:
        raise ForbiddenMovementError(MovementKind.RECEIVE_PRINT, ctx.actor.role, "only QLCL records print batches")
    if form_type.code != batch.form_type:
        raise InvalidPrintBatchError("form_type", f"{batch.form_type!r} does not match {form_type.code!r}")
    if not form_type.active:
        raise InactiveFormTypeError(form_type.code)
    form_type.check_range(batch.serials)
    ws = Workspace(blocks)
    conflict = ws.first_overlap(batch.form_type, batch.serials)
    if conflict is not None:
        raise PrintBatchOverlapError(batch.form_type, conflict)
    block = Block(batch.form_type, batch.serials, BlankState.CENTRAL)
    ws.insert(block)
    ws.record(
        [
            new_block_movement(
                block,
                ctx=ctx,
                kind=MovementKind.RECEIVE_PRINT,
                reason=rule.default_reason,
                document_ref=batch.contract_ref,
                note=f"print batch {batch.batch_id} from {batch.printer}",
            )
        ]
    )
    ws.emit(
        PrintBatchStocked(
            batch_id=batch.batch_id,
            form_type=batch.form_type,
            serials=batch.serials,
            printer=batch.printer,
            contract_ref=batch.contract_ref,
        )
    )
    return ws.change()
