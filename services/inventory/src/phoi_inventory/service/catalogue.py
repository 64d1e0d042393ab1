"""Form types and print batches (QLCL officers)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from phoi_contracts.events import inventory as contract
from phoi_contracts.events.common import MAX_SERIAL
from phoi_kit.errors import Conflict, NotFound, PreconditionFailed, PreconditionRequired, Unprocessable
from phoi_kit.uow import UnitOfWork
from phoi_kit.vietnam import today_in_vietnam

from phoi_inventory.adapters.blocks import BlockStore
from phoi_inventory.adapters.catalogue import FormTypeRepository, PrintBatchRepository, form_type_of
from phoi_inventory.domain import (
    Actor,
    ActorRole,
    FormType,
    InvalidFormTypeError,
    OperationContext,
    PrintBatch,
    SerialRange,
    blocks_to_load_for_print_batch,
    receive_print_batch,
)
from phoi_inventory.models import FormTypeRow
from phoi_inventory.service.context import now
from phoi_inventory.service.contract import print_batch_received
from phoi_inventory.service.queue import AllocationQueue

#: 15 digits keep every serial within the contracts' MAX_SERIAL (2**53 - 1, exact in every JSON parser).
MAX_DIGITS = len(str(MAX_SERIAL)) - 1


def form_type_state(row: FormTypeRow) -> dict[str, Any]:
    return {
        "form_type_id": row.id,
        "code": row.code,
        "name": row.name_vi,
        "name_en": row.name_en,
        "digits": row.digits,
        "serial_prefix": row.serial_prefix,
        "template_version": row.template_version,
        "active": row.active,
    }


def unknown_form_type(code: str) -> Unprocessable:
    return Unprocessable(f"There is no form type {code!r}.", code="form_type_unknown", form_type=code)


class Catalogue:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.form_types = FormTypeRepository(uow.session)
        self.batches = PrintBatchRepository(uow.session)

    # ------------------------------------------------------------------ form types

    async def get_form_type(self, code: str) -> FormTypeRow:
        row = await self.form_types.get(code)
        if row is None:
            raise NotFound(f"There is no form type {code!r}.", code="form_type_not_found")
        return row

    async def create_form_type(self, form_type: FormType, *, created_by: str) -> FormTypeRow:
        if not form_type.serial_prefix:
            raise InvalidFormTypeError("serial_prefix", "1-10 characters A-Z or 0-9")
        if form_type.digits > MAX_DIGITS:
            raise InvalidFormTypeError("digits", f"between 1 and {MAX_DIGITS}: every serial must fit the events")
        row = await self.form_types.insert(form_type, created_by=created_by)
        if row is None:
            raise Conflict(
                f"A form type with code {form_type.code!r} exists already.",
                code="form_type_exists",
                form_type=form_type.code,
            )
        self.uow.publish(contract.FormTypeCreated(**form_type_state(row)))
        return row

    async def update_form_type(self, code: str, changes: dict[str, Any], *, if_match: int | None) -> FormTypeRow:
        if if_match is None:
            raise PreconditionRequired("Send If-Match with the version you read.")
        # Lock first, then compare versions: two concurrent updates cannot both pass the check.
        await BlockStore(self.uow.session).lock_form_types([code])
        row = await self.get_form_type(code)
        current = form_type_of(row)
        merged = {
            "name_vi": changes.get("name_vi", current.name_vi),
            "name_en": changes.get("name_en", current.name_en),
            "template_version": changes.get("template_version", current.template_version),
            "active": changes.get("active", current.active),
        }
        FormType(current.code, serial_prefix=current.serial_prefix, digits=current.digits, **merged)  # validate
        # After validating: invalid input is 422 whatever version it names.
        if if_match != row.version:
            raise PreconditionFailed(
                "The form type changed since you read it.", current_version=row.version, expected_version=if_match
            )
        changed = {k: v for k, v in merged.items() if getattr(row, k) != v}
        if not changed:
            return row
        row = await self.form_types.update(row, changed, at=now())
        self.uow.publish(contract.FormTypeUpdated(**form_type_state(row), changed_fields=tuple(sorted(changed))))
        return row

    # ------------------------------------------------------------------ print batches

    async def record_print_batch(self, batch: PrintBatch, actor: Actor) -> uuid.UUID:
        """A print batch enters the central stock; waiting allocations that it covers complete at once."""
        if batch.received_on > today_in_vietnam():
            raise Unprocessable("received_on is in the future.", code="print_batch_invalid", field="received_on")
        queue = AllocationQueue(self.uow)
        await queue.lock([batch.form_type])
        row = await self.form_types.get(batch.form_type)
        if row is None:
            raise unknown_form_type(batch.form_type)
        form_type = form_type_of(row)
        form_type.check_range(batch.serials)
        clash = await self.batches.first_overlap(batch.form_type, batch.serials)
        if clash is not None:
            clash_id, clash_range = clash
            overlap = batch.serials.intersection(clash_range)
            assert overlap is not None
            raise Conflict(
                f"Serials {overlap.first}..{overlap.last} of form type {batch.form_type} were already printed"
                f" (print batch {clash_id}).",
                code="print_batch_overlap",
                form_type=batch.form_type,
                conflict={"first": overlap.first, "last": overlap.last, "count": overlap.count},
                conflicting_batch={"batch_id": str(clash_id), "first": clash_range.first, "last": clash_range.last},
            )
        store = BlockStore(self.uow.session)
        loaded = await store.load_overlapping(*_widened(batch))
        at = now()
        ctx = OperationContext(actor, at, batch.batch_id)
        change = receive_print_batch(batch, form_type, loaded.all(), ctx)
        batch_id = uuid.UUID(batch.batch_id)
        await self.batches.insert(
            batch_id=batch_id,
            form_type=batch.form_type,
            serials=batch.serials,
            printer=batch.printer,
            contract_ref=batch.contract_ref,
            received_on=batch.received_on,
            note=batch.note,
            created_by=actor.user_id,
        )
        await store.write(change, loaded, occurred_on=batch.received_on)
        self.uow.publish(print_batch_received(batch, batch_id))
        await queue.run(operation_id=uuid.uuid5(batch_id, "allocation-queue"))
        return batch_id


def _widened(batch: PrintBatch) -> tuple[str, list[SerialRange]]:
    form_type, serials = blocks_to_load_for_print_batch(batch)
    return form_type, [serials]


def qlcl_actor(user_id: str) -> Actor:
    return Actor(user_id, ActorRole.QLCL)


def batch_of(
    *,
    form_type: str,
    first: int,
    last: int,
    printer: str,
    contract_ref: str,
    received_on: date,
    note: str | None,
) -> PrintBatch:
    return PrintBatch(
        batch_id=str(uuid.uuid4()),
        form_type=form_type,
        serials=SerialRange(first, last),
        printer=printer,
        contract_ref=contract_ref,
        received_on=received_on,
        note=note,
    )
