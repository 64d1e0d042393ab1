"""The inventory's part of the issuance saga: approval → allocation, receipt → unit stock, cancellation.

Idempotent on the fact, not only on the event id (the kit already skips a re-delivered id):

- ``request.approved`` (request, revision): the allocation id is derived from (request id, revision) and
  the same revision again changes nothing; an older revision than one already seen is stale and ignored;
  a newer one supersedes the open allocation of the older (released if it was completed) and allocates
  afresh. A newer approval after the unit received the blanks cannot be honoured: it raises (retried,
  then dead-lettered for an operator).
- ``request.receipt_confirmed``: an allocation already received is skipped.
- ``request.cancelled``: only open allocations are closed.

Receipt with discrepancies (``accepted_quantity < allocated_quantity``): all of the allocation moves to
the unit (``allocated → at_unit``), then the rejected serials the unit named (``rejected_ranges``) are
recorded as *returned* by the unit (``at_unit → returned``), in the same transaction. They are then in
QLCL's hands to receive back into the central stock (``receive_return``) or destroy — exactly what the
ledger should show for blanks that came back. A shortfall the unit did not identify by serial cannot be
booked against particular serials: the blanks stay in the unit's stock, the discrepancy note is kept on
the allocation line, and the unit records the missing serials (lost, with the police report) once it
knows them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

from phoi_contracts.envelope import Envelope
from phoi_contracts.events import inventory as contract
from phoi_contracts.events.requests import ReceiptLine, RequestApproved, RequestCancelled, RequestReceiptConfirmed
from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork

from phoi_inventory.adapters.allocations import (
    CANCELLED,
    COMPLETED,
    OPEN,
    RECEIVED,
    SUPERSEDED,
    WAITING,
    AllocationRecord,
    ranges_json,
    ranges_of,
)
from phoi_inventory.adapters.blocks import Loaded
from phoi_inventory.adapters.catalogue import FormTypeRepository, form_type_of
from phoi_inventory.domain import (
    Actor,
    ActorRole,
    LedgerReason,
    MovementItem,
    MovementKind,
    MovementRequest,
    OperationContext,
    SerialRange,
    confirm_receipt,
    merge_ranges,
    ranges_to_load_for_allocation,
    ranges_to_load_for_movement,
    record_movement,
    subtract_ranges,
)
from phoi_inventory.models import AllocationLineRow, AllocationRow, FormTypeRow
from phoi_inventory.service.context import SYSTEM_USER, derived_id, now
from phoi_inventory.service.contract import contract_ranges, movement_events
from phoi_inventory.service.queue import AllocationQueue, form_types_of
from phoi_inventory.settings import Settings

log = get_logger(__name__)


class SagaError(Exception):
    """An event the inventory cannot apply as it stands (retried, then dead-lettered)."""


class Saga:
    def __init__(self, uow: UnitOfWork, settings: Settings) -> None:
        self.uow = uow
        self.settings = settings
        self.queue = AllocationQueue(uow)
        self.repo = self.queue.repo
        self.store = self.queue.store

    # ------------------------------------------------------------------ approval

    async def approve(self, event: RequestApproved, *, event_id: uuid.UUID, approved_at: datetime) -> None:
        await self.store.lock_queue()
        existing = await self.repo.for_request(event.request_id)
        revision = event.approval_revision
        if any(r.row.approval_revision >= revision for r in existing):
            log.info("approval already seen or superseded", request_id=str(event.request_id), revision=revision)
            return
        if any(r.row.status == RECEIVED for r in existing):
            raise SagaError(
                f"request {event.request_id} was approved again (revision {revision}) after its blanks were received"
            )
        open_ = [r for r in existing if r.row.status in OPEN]
        lines = [line for line in event.lines if line.approved_quantity > 0]
        await self.queue.lock(form_types_of(open_) | {line.form_type_code for line in lines})
        operation = derived_id("approval", event_id)
        for record in open_:
            await self.queue.close(
                record,
                status=SUPERSEDED,
                reason=f"superseded by approval revision {revision}",
                operation_id=derived_id(operation, "release", record.id),
            )
        at = now()
        allocation_id = derived_id("allocation", event.request_id, revision)
        await self.repo.add(
            AllocationRow(
                id=allocation_id,
                request_id=event.request_id,
                approval_revision=revision,
                unit_code=event.unit_code,
                status=WAITING,
                approved_at=approved_at,
                created_at=at,
                updated_at=at,
            ),
            [
                AllocationLineRow(
                    allocation_id=allocation_id,
                    line_no=n,
                    line_id=line.line_id,
                    form_type=line.form_type_code,
                    requested_quantity=line.requested_quantity,
                    quantity=line.approved_quantity,
                    ranges=[],
                )
                for n, line in enumerate(lines, start=1)
            ],
        )
        await self.queue.run(operation_id=operation, new_id=allocation_id)

    # ------------------------------------------------------------------ cancellation

    async def cancel(self, event: RequestCancelled, *, event_id: uuid.UUID) -> None:
        await self.store.lock_queue()
        open_ = [r for r in await self.repo.for_request(event.request_id) if r.row.status in OPEN]
        if not open_:
            return
        await self.queue.lock(form_types_of(open_))
        operation = derived_id("cancel", event_id)
        for record in open_:
            await self.queue.close(
                record,
                status=CANCELLED,
                reason=event.reason or "request cancelled",
                operation_id=derived_id(operation, "release", record.id),
            )
        await self.queue.run(operation_id=operation)

    # ------------------------------------------------------------------ receipt

    async def receive(self, event: RequestReceiptConfirmed, envelope: Envelope) -> None:
        """Each completed allocation the receipt names goes to the unit, less the serials it rejected."""
        records = [await self._receivable(allocation_id, event) for allocation_id in event.allocation_ids]
        todo = await self._not_yet_received(records, event)
        if not todo:
            return
        receipt = _Receipt(
            event=event,
            operation=derived_id("receipt", envelope.id),
            actor=self._receiving_actor(envelope, event.unit_code),
            form_types=await FormTypeRepository(self.uow.session).many(sorted(form_types_of(todo))),
        )
        for record in todo:
            await self._receive_allocation(record, receipt)

    async def _receivable(self, allocation_id: uuid.UUID, event: RequestReceiptConfirmed) -> AllocationRecord:
        """The allocation a receipt names: known, of that request and unit, completed or received."""
        record = await self.repo.get(allocation_id)
        if record is None:
            raise SagaError(f"receipt names allocation {allocation_id}, which this service does not know")
        if record.row.request_id != event.request_id or record.row.unit_code != event.unit_code:
            raise SagaError(f"allocation {allocation_id} is not for request {event.request_id} of {event.unit_code}")
        if record.row.status not in (COMPLETED, RECEIVED):
            raise SagaError(f"allocation {allocation_id} is {record.row.status}: nothing to receive")
        return record

    async def _not_yet_received(
        self, records: list[AllocationRecord], event: RequestReceiptConfirmed
    ) -> list[AllocationRecord]:
        """The completed ones, re-read under the form types' locks."""
        todo = [r for r in records if r.row.status == COMPLETED]
        if not todo:
            log.info("receipt already applied", request_id=str(event.request_id))
            return []
        await self.store.lock_form_types(form_types_of(todo))
        for record in todo:  # a concurrent delivery of the same receipt may have applied it meanwhile
            await self.uow.session.refresh(record.row)
        return [r for r in todo if r.row.status == COMPLETED]

    async def _receive_allocation(self, record: AllocationRecord, receipt: _Receipt) -> None:
        """All of the allocation to the unit, then the serials it rejected back as returned."""
        event = receipt.event
        at = now()
        await self._move_to_unit(record, receipt, at)
        rejected: dict[str, list[SerialRange]] = {}
        notes: dict[str, list[str]] = {}
        for line in record.lines:
            refused = _apply_answer(line, receipt.lines.get(line.line_id), event.request_id)
            if refused is not None:
                rejected.setdefault(line.form_type, []).extend(refused)
                if line.discrepancy_note:
                    notes.setdefault(line.form_type, []).append(line.discrepancy_note)
        for form_type, returned in sorted(rejected.items()):
            await self._return_rejected(record, receipt, form_type, returned, notes.get(form_type, []), at)
        await self.repo.flush()
        await self.repo.set_status(record, RECEIVED, at=at, received_at=at, received_on=event.received_on)
        self._publish_received(record, event.received_on)
        log.info("allocation received", request_id=str(event.request_id), allocation_id=str(record.id))

    async def _move_to_unit(self, record: AllocationRecord, receipt: _Receipt, at: datetime) -> None:
        outcome = record.outcome()
        loaded = Loaded()
        for form_type, ranges in sorted(ranges_to_load_for_allocation(outcome).items()):
            await self.store.load_overlapping(form_type, ranges, loaded)
        ctx = OperationContext(receipt.actor, at, str(derived_id(receipt.operation, record.id)))
        await self.store.write(
            confirm_receipt(outcome, loaded.all(), ctx, document_ref=receipt.document_ref),
            loaded,
            occurred_on=receipt.event.received_on,
        )

    async def _return_rejected(
        self,
        record: AllocationRecord,
        receipt: _Receipt,
        form_type: str,
        returned: list[SerialRange],
        notes: list[str],
        at: datetime,
    ) -> None:
        """Record the rejected serials of one form type as returned by the unit, and publish the movement."""
        unit_code = record.row.unit_code
        request = MovementRequest(
            MovementKind.RETURN,
            form_type,
            tuple(MovementItem(r) for r in merge_ranges(returned)),
            document_ref=receipt.document_ref,
            reason=LedgerReason.RETURNED,
            holder_unit=unit_code,
            note=("rejected at receipt: " + "; ".join(notes))[:4000],
        )
        loaded = Loaded()
        await self.store.load_overlapping(*ranges_to_load_for_movement(request), into=loaded)
        return_id = derived_id(receipt.operation, record.id, "return", form_type)
        unit_actor = Actor(receipt.actor.user_id, ActorRole.UNIT, unit_code)
        change = record_movement(
            request,
            loaded.all(),
            form_type_of(receipt.form_types[form_type]),
            OperationContext(unit_actor, at, str(return_id)),
        )
        stamped = await self.store.write(change, loaded, occurred_on=receipt.event.received_on)
        for published in movement_events(
            stamped.movements,
            movement_id=return_id,
            unit_code=unit_code,
            document_ref=receipt.document_ref,
            occurred_on=receipt.event.received_on,
            reason=request.note,
            max_register_entries=self.settings.event_max_register_entries,
        ):
            self.uow.publish(published)

    def _publish_received(self, record: AllocationRecord, received_on: date) -> None:
        """What the unit now holds of the allocation (all of it less the rejected serials), if anything."""
        held = []
        for line in record.lines:
            kept = subtract_ranges(ranges_of(line.ranges), ranges_of(line.rejected_ranges))
            if kept:
                held.append(
                    contract.AllocatedLine(
                        line_id=line.line_id,
                        form_type_code=line.form_type,
                        quantity=sum(r.count for r in kept),
                        ranges=contract_ranges(kept),
                    )
                )
        if held:
            self.uow.publish(
                contract.StockReceivedByUnit(
                    request_id=record.row.request_id,
                    unit_code=record.row.unit_code,
                    allocation_id=record.id,
                    received_on=received_on,
                    lines=tuple(held),
                )
            )

    @staticmethod
    def _receiving_actor(envelope: Envelope, unit_code: str) -> Actor:
        """The unit's user who confirmed receipt, when the envelope names them; else the service."""
        who = envelope.actor
        if who.user_id and who.unit_code == unit_code:
            return Actor(who.user_id, ActorRole.UNIT, unit_code)
        return Actor(SYSTEM_USER, ActorRole.SYSTEM)


@dataclass(frozen=True)
class _Receipt:
    """A receipt being applied: the event, the operation it derives ids from, who received."""

    event: RequestReceiptConfirmed
    operation: uuid.UUID
    actor: Actor
    form_types: dict[str, FormTypeRow]

    @property
    def document_ref(self) -> str:
        return f"receipt of request {self.event.request_id}"

    @cached_property
    def lines(self) -> dict[uuid.UUID, ReceiptLine]:
        return {line.line_id: line for line in self.event.lines}


def _apply_answer(
    line: AllocationLineRow, answer: ReceiptLine | None, request_id: uuid.UUID
) -> tuple[SerialRange, ...] | None:
    """Note the unit's answer for one line on it; the serials it rejected (``None`` when it accepted
    all, or did not say which were missing)."""
    line.accepted_quantity = line.quantity if answer is None else answer.accepted_quantity
    line.discrepancy_note = None if answer is None else answer.discrepancy_note
    if answer is None or answer.accepted_quantity == line.quantity:
        return None
    if answer.rejected_ranges is None:
        log.warning(
            "receipt shortfall without serials: blanks stay in the unit's stock until it records them",
            request_id=str(request_id),
            line_id=str(line.line_id),
            missing=line.quantity - answer.accepted_quantity,
        )
        return None
    refused = merge_ranges(SerialRange(r.first, r.last) for r in answer.rejected_ranges)
    if subtract_ranges(refused, ranges_of(line.ranges)):
        raise SagaError(f"rejected serials of line {line.line_id} are not all allocated to that line")
    line.rejected_ranges = ranges_json(refused)
    return refused
