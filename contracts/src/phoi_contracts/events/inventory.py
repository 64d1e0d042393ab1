"""Events of the inventory service (topic ``phoi.inventory``): form types, stock, allocations, ledger.

Allocation events use the request id as subject, so a request's ``waiting_for_stock``,
``completed`` and ``released`` events stay in order.
"""

import uuid
from datetime import date
from enum import StrEnum
from typing import ClassVar, Final, Self

from pydantic import Field, model_validator

from phoi_contracts import topics
from phoi_contracts.envelope import EventData
from phoi_contracts.events.common import (
    Code,
    LongText,
    SerialRange,
    SerialRanges,
    ShortText,
    SubModel,
    require_unique_line_ids,
    total_size,
)


class BlankState(StrEnum):
    """Where a blank is in its life: the names inventory's REST API uses (``GET /stock?state=``)."""

    CENTRAL = "central"  # in QLCL's central stock (its vault), free
    ALLOCATED = "allocated"  # reserved for an approved request, not yet received by the unit
    AT_UNIT = "at_unit"  # received by the unit, on hand there
    USED = "used"  # used for a register entry
    SPOILED = "spoiled"  # damaged, misprinted or miswritten
    LOST = "lost"
    DESTROYED = "destroyed"
    RETURNED = "returned"  # sent back to QLCL, not yet taken back or destroyed


class MovementKind(StrEnum):
    """What a unit (or QLCL) recorded about some blanks: the ``kind`` of inventory's ``POST /movements``."""

    USE = "use"
    SPOIL = "spoil"
    LOSE = "lose"
    DESTROY = "destroy"
    RETURN = "return"
    RECEIVE_RETURN = "receive_return"  # QLCL took back returned blanks


#: The state blanks are in after a movement of each kind.
MOVEMENT_TARGET_STATE: Final[dict[MovementKind, BlankState]] = {
    MovementKind.USE: BlankState.USED,
    MovementKind.SPOIL: BlankState.SPOILED,
    MovementKind.LOSE: BlankState.LOST,
    MovementKind.DESTROY: BlankState.DESTROYED,
    MovementKind.RETURN: BlankState.RETURNED,
    MovementKind.RECEIVE_RETURN: BlankState.CENTRAL,
}


class BlankStateV1(StrEnum):
    """The states as ``stock.movement_recorded.v1`` spelt them (superseded: see ``BlankState``)."""

    IN_VAULT = "in_vault"  # = central
    ALLOCATED = "allocated"
    HANDED_OVER = "handed_over"  # never published: receipt takes blanks from allocated to held
    HELD = "held"  # = at_unit
    USED = "used"
    SPOILED = "spoiled"
    LOST = "lost"
    DESTROYED = "destroyed"
    RETURNED = "returned"


class MovementKindV1(StrEnum):
    """The kinds as ``stock.movement_recorded.v1`` spelt them (superseded: see ``MovementKind``)."""

    USE = "use"
    SPOIL = "spoil"
    LOSE = "lose"
    DESTROY = "destroy"
    RETURN = "return"
    RETURN_RECEIVED = "return_received"  # = receive_return


MOVEMENT_TARGET_STATE_V1: Final[dict[MovementKindV1, BlankStateV1]] = {
    MovementKindV1.USE: BlankStateV1.USED,
    MovementKindV1.SPOIL: BlankStateV1.SPOILED,
    MovementKindV1.LOSE: BlankStateV1.LOST,
    MovementKindV1.DESTROY: BlankStateV1.DESTROYED,
    MovementKindV1.RETURN: BlankStateV1.RETURNED,
}


class AllocatedLine(SubModel):
    """Serials of one request line: a form type, a quantity and the inclusive ranges holding it."""

    line_id: uuid.UUID = Field(description="Request line id.")
    form_type_code: Code = Field(description="Form type.")
    quantity: int = Field(ge=1, description="Number of blanks; equals the total size of the ranges.")
    ranges: SerialRanges = Field(description="Inclusive serial ranges, ascending, not overlapping.")

    @model_validator(mode="after")
    def _quantity_matches(self) -> Self:
        if total_size(self.ranges) != self.quantity:
            raise ValueError("quantity must equal the number of serials in ranges")
        return self


class Shortfall(SubModel):
    """A request line the central stock cannot fill yet."""

    line_id: uuid.UUID = Field(description="Request line id.")
    form_type_code: Code = Field(description="Form type.")
    approved_quantity: int = Field(ge=1, description="Quantity approved.")
    available_quantity: int = Field(ge=0, description="Quantity in the central stock now.")
    shortfall_quantity: int = Field(ge=1, description="approved_quantity - available_quantity.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.shortfall_quantity != self.approved_quantity - self.available_quantity:
            raise ValueError("shortfall_quantity must equal approved_quantity - available_quantity")
        return self


class _InventoryEvent(EventData):
    TOPIC: ClassVar[str | None] = topics.INVENTORY


# --- form types and central stock ------------------------------------------------------------------


#: The most digits a form type's serial number may have (inventory's database allows no more).
MAX_FORM_TYPE_DIGITS: Final = 18


class _FormTypeState(_InventoryEvent):
    SUBJECT_FIELD: ClassVar[str | None] = "form_type_id"

    form_type_id: uuid.UUID = Field(description="Form type id.")
    code: Code = Field(description="Form type code, unique.")
    name: ShortText = Field(description="Vietnamese name (inventory's `name_vi`), e.g. Bằng tốt nghiệp THPT.")
    serial_prefix: ShortText = Field(description="Prefix printed before the serial number.")
    template_version: ShortText = Field(description="Version of the printed template.")
    active: bool = Field(description="Whether new requests and batches may use it.")
    # Added later (optional, so the type kept its version): absent from the events published before.
    name_en: ShortText | None = Field(default=None, description="English name (inventory's `name_en`).")
    digits: int | None = Field(
        default=None, ge=1, le=MAX_FORM_TYPE_DIGITS, description="Digits of the zero-padded serial number."
    )


class FormTypeCreated(_FormTypeState):
    """QLCL defined a form type."""

    TYPE: ClassVar[str] = "form_type.created.v1"


class FormTypeUpdated(_FormTypeState):
    """A form type changed; carries the full state after the change."""

    TYPE: ClassVar[str] = "form_type.updated.v1"

    changed_fields: tuple[str, ...] = Field(min_length=1, description="Names of the fields that changed.")


class PrintBatchReceived(_InventoryEvent):
    """A print batch arrived from the printer and entered the central stock."""

    TYPE: ClassVar[str] = "print_batch.received.v1"
    SUBJECT_FIELD: ClassVar[str | None] = "batch_id"

    batch_id: uuid.UUID = Field(description="Print batch id.")
    form_type_code: Code = Field(description="Form type printed.")
    serials: SerialRange = Field(description="First and last serial of the batch.")
    quantity: int = Field(ge=1, description="Number of blanks; equals the size of serials.")
    printer: ShortText = Field(description="Printing house.")
    contract_ref: ShortText = Field(description="Printing contract reference.")
    received_on: date = Field(description="Date QLCL received the batch.")
    note: LongText | None = Field(default=None, description="Free note.")

    @model_validator(mode="after")
    def _quantity_matches(self) -> Self:
        if self.serials.size != self.quantity:
            raise ValueError("quantity must equal last - first + 1")
        return self


# --- allocations -----------------------------------------------------------------------------------


class _AllocationEvent(_InventoryEvent):
    SUBJECT_FIELD: ClassVar[str | None] = "request_id"

    request_id: uuid.UUID = Field(description="Request the serials are for.")
    unit_code: Code = Field(description="Receiving unit.")


class AllocationCompleted(_AllocationEvent):
    """Serial ranges were allocated for every approved line of a request."""

    TYPE: ClassVar[str] = "allocation.completed.v1"

    allocation_id: uuid.UUID = Field(description="Allocation id.")
    approval_revision: int = Field(ge=1, description="Approval revision this allocation fulfils.")
    lines: tuple[AllocatedLine, ...] = Field(min_length=1, description="Serials per request line.")

    @model_validator(mode="after")
    def _lines_unique(self) -> Self:
        require_unique_line_ids(line.line_id for line in self.lines)
        return self


class AllocationWaitingForStock(_AllocationEvent):
    """The central stock is short: the request waits until stock arrives or approval changes."""

    TYPE: ClassVar[str] = "allocation.waiting_for_stock.v1"

    approval_revision: int = Field(ge=1, description="Approval revision waiting to be fulfilled.")
    lines: tuple[Shortfall, ...] = Field(min_length=1, description="Lines that cannot be filled yet.")

    @model_validator(mode="after")
    def _lines_unique(self) -> Self:
        require_unique_line_ids(line.line_id for line in self.lines)
        return self


class AllocationReleased(_AllocationEvent):
    """An allocation was cancelled; its serials went back to the central stock."""

    TYPE: ClassVar[str] = "allocation.released.v1"

    allocation_id: uuid.UUID = Field(description="Allocation id.")
    reason: LongText = Field(description="Why, e.g. the request was cancelled or re-approved.")
    lines: tuple[AllocatedLine, ...] = Field(min_length=1, description="Serials released per line.")

    @model_validator(mode="after")
    def _lines_unique(self) -> Self:
        require_unique_line_ids(line.line_id for line in self.lines)
        return self


class StockReceivedByUnit(_AllocationEvent):
    """After the unit confirmed receipt, the accepted serials moved into the unit's stock."""

    TYPE: ClassVar[str] = "stock.received_by_unit.v1"

    allocation_id: uuid.UUID = Field(description="Allocation id.")
    received_on: date = Field(description="Date the unit received the blanks.")
    lines: tuple[AllocatedLine, ...] = Field(min_length=1, description="Serials now held, per line.")

    @model_validator(mode="after")
    def _lines_unique(self) -> Self:
        require_unique_line_ids(line.line_id for line in self.lines)
        return self


# --- the ledger ------------------------------------------------------------------------------------


def _check_movement(
    event: "StockMovementRecorded | StockMovementRecordedV1", target: StrEnum | None, *, is_use: bool
) -> None:
    """The rules both versions of ``stock.movement_recorded`` share."""
    if total_size(event.ranges) != event.quantity:
        raise ValueError("quantity must equal the number of serials in ranges")
    if event.from_state == event.to_state:
        raise ValueError("from_state and to_state must differ")
    if target is not None and event.to_state != target:
        raise ValueError(f"a {event.kind} movement must end in state {target}")
    if event.register_entry_numbers is not None:
        if not is_use:
            raise ValueError("register_entry_numbers apply to use movements only")
        if len(event.register_entry_numbers) != event.quantity:
            raise ValueError("register_entry_numbers needs one entry per serial")


class StockMovementRecorded(_InventoryEvent):
    """Blanks changed state: used, spoiled, lost, destroyed, returned, or a return was received.

    States and kinds have the names of inventory's REST API (``central``, ``at_unit``, ``receive_return``).
    """

    TYPE: ClassVar[str] = "stock.movement_recorded.v2"
    SUBJECT_FIELD: ClassVar[str | None] = "unit_code"

    movement_id: uuid.UUID = Field(description="Movement (ledger entry) id.")
    kind: MovementKind = Field(description="What happened.")
    unit_code: Code = Field(description="Unit whose blanks these are.")
    form_type_code: Code = Field(description="Form type.")
    ranges: SerialRanges = Field(description="Inclusive serial ranges, ascending, not overlapping.")
    quantity: int = Field(ge=1, description="Number of blanks; equals the total size of ranges.")
    from_state: BlankState = Field(description="State before.")
    to_state: BlankState = Field(description="State after.")
    document_ref: ShortText = Field(description="Supporting record: destruction record, police report...")
    occurred_on: date = Field(description="Date it happened.")
    reason: LongText | None = Field(default=None, description="Reason, e.g. why spoiled.")
    register_entry_numbers: tuple[ShortText, ...] | None = Field(
        default=None, description="For use: register entry numbers, one per serial in order."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_movement(self, MOVEMENT_TARGET_STATE.get(self.kind), is_use=self.kind is MovementKind.USE)
        return self


class StockMovementRecordedV1(_InventoryEvent):
    """Superseded by stock.movement_recorded.v2 (the same fact, in the REST API's names); no longer published.

    Kept so that older messages and the audit log's entries of this type still parse. Its states are
    ``in_vault`` (v2: ``central``) and ``held`` (v2: ``at_unit``), its kind ``return_received`` (v2:
    ``receive_return``); ``handed_over`` was never published.
    """

    TYPE: ClassVar[str] = "stock.movement_recorded.v1"
    SUBJECT_FIELD: ClassVar[str | None] = "unit_code"

    movement_id: uuid.UUID = Field(description="Movement (ledger entry) id.")
    kind: MovementKindV1 = Field(description="What happened.")
    unit_code: Code = Field(description="Unit whose blanks these are.")
    form_type_code: Code = Field(description="Form type.")
    ranges: SerialRanges = Field(description="Inclusive serial ranges, ascending, not overlapping.")
    quantity: int = Field(ge=1, description="Number of blanks; equals the total size of ranges.")
    from_state: BlankStateV1 = Field(description="State before.")
    to_state: BlankStateV1 = Field(description="State after.")
    document_ref: ShortText = Field(description="Supporting record: destruction record, police report...")
    occurred_on: date = Field(description="Date it happened.")
    reason: LongText | None = Field(default=None, description="Reason, e.g. why spoiled.")
    register_entry_numbers: tuple[ShortText, ...] | None = Field(
        default=None, description="For use: register entry numbers, one per serial in order."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_movement(self, MOVEMENT_TARGET_STATE_V1.get(self.kind), is_use=self.kind is MovementKindV1.USE)
        return self


EVENTS: Final[tuple[type[EventData], ...]] = (
    FormTypeCreated,
    FormTypeUpdated,
    PrintBatchReceived,
    AllocationCompleted,
    AllocationWaitingForStock,
    AllocationReleased,
    StockReceivedByUnit,
    StockMovementRecorded,
    StockMovementRecordedV1,
)
