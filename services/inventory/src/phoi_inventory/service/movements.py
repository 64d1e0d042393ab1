"""Movements recorded by a unit (use, spoil, lose, destroy, return) or by QLCL (spoil, lose, destroy in its
custody; receive returned blanks back; destroy returned blanks). All or nothing.

Every movement names a supporting document (``document_ref``): the domain demands the police report for a
loss and the destruction record for a destruction; for the other kinds it is the unit's own record (the
register book or graduation decision for a use, the spoilage record, the return handover note), and the
contract event carries it. ``use`` also books the register entry numbers per unit, form type and year, so
an entry number is never used twice (``register_entry_used``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from phoi_kit.errors import Conflict, Unprocessable
from phoi_kit.uow import UnitOfWork
from sqlalchemy import text

from phoi_inventory.adapters.blocks import BlockStore, Loaded, multirange
from phoi_inventory.adapters.catalogue import FormTypeRepository, form_type_of
from phoi_inventory.domain import (
    ActorRole,
    Custody,
    DocumentRequiredError,
    Movement,
    MovementKind,
    MovementRequest,
    OperationContext,
    merge_ranges,
    ranges_to_load_for_movement,
    record_movement,
    transitions_for,
)
from phoi_inventory.domain import SerialRange as Range
from phoi_inventory.service.catalogue import unknown_form_type
from phoi_inventory.service.contract import movement_events
from phoi_inventory.service.queue import AllocationQueue
from phoi_inventory.settings import Settings


@dataclass(frozen=True, slots=True)
class RecordedMovement:
    movement_id: uuid.UUID
    holder_unit: str | None
    lines: tuple[Movement, ...]


def _require_document(request: MovementRequest, ctx: OperationContext) -> None:
    if request.document_ref and request.document_ref.strip():
        return
    custody = None
    if ctx.actor.role is ActorRole.QLCL:
        custody = Custody.CENTRAL if request.holder_unit is None else Custody.UNIT
    rules = transitions_for(request.kind, role=ctx.actor.role, custody=custody)
    if not rules:
        return  # not this role's to do: the domain answers movement_forbidden
    for rule in rules:
        if rule.document is not None:
            raise DocumentRequiredError(request.kind, rule.document)
    raise Unprocessable(
        f"Movement {request.kind.value!r} requires the reference of its supporting record.",
        code="document_required",
        kind=request.kind.value,
        document="supporting_record",
    )


class Movements:
    def __init__(self, uow: UnitOfWork, settings: Settings) -> None:
        self.uow = uow
        self.settings = settings
        self.store = BlockStore(uow.session)

    async def record(self, request: MovementRequest, ctx: OperationContext, *, occurred_on: date) -> RecordedMovement:
        _require_document(request, ctx)
        grows_central = request.kind is MovementKind.RECEIVE_RETURN
        queue = AllocationQueue(self.uow)
        if grows_central:
            await queue.lock([request.form_type])
        else:
            await self.store.lock_form_types([request.form_type])
        row = await FormTypeRepository(self.uow.session).get(request.form_type)
        if row is None:
            raise unknown_form_type(request.form_type)
        form_type = form_type_of(row)
        loaded = await self.store.load_overlapping(*ranges_to_load_for_movement(request), into=Loaded())
        change = record_movement(request, loaded.all(), form_type, ctx)
        holder = ctx.actor.unit_code if ctx.actor.role is ActorRole.UNIT else request.holder_unit
        operation_id = uuid.UUID(ctx.operation_id)
        if request.kind is MovementKind.USE and holder is not None:
            await self._book_register_entries(change.movements, holder, occurred_on.year, operation_id)
        stamped = await self.store.write(change, loaded, occurred_on=occurred_on)
        assert request.document_ref is not None
        for event in movement_events(
            stamped.movements,
            movement_id=operation_id,
            unit_code=holder or self.settings.issuer_unit_code,
            document_ref=request.document_ref.strip(),
            occurred_on=occurred_on,
            reason=request.note or (request.reason.value if request.reason else stamped.movements[0].reason.value),
            max_register_entries=self.settings.event_max_register_entries,
        ):
            self.uow.publish(event)
        if grows_central:
            await queue.run(operation_id=uuid.uuid5(operation_id, "allocation-queue"))
        return RecordedMovement(operation_id, holder, stamped.movements)

    async def _book_register_entries(
        self, lines: tuple[Movement, ...], unit: str, year: int, operation_id: uuid.UUID
    ) -> None:
        """Refuse register entry numbers the unit already used this year for this form type, then book
        them (the exclusion constraint on ``register_entries`` is the backstop)."""
        booked = [e for m in lines if (e := m.register_entries) is not None]
        if not booked:
            return
        form_type = lines[0].form_type
        wanted = merge_ranges(booked)  # consecutive entries (the usual case) are booked as one range
        clash = (
            await self.uow.session.execute(
                text(
                    "SELECT lower(entries) AS lo, upper(entries) AS hi FROM register_entries WHERE unit_code = :unit"
                    " AND form_type = :ft AND year = :year AND entries && CAST(:wanted AS int8multirange)"
                    " ORDER BY lower(entries) LIMIT 1"
                ),
                {"unit": unit, "ft": form_type, "year": year, "wanted": multirange(wanted)},
            )
        ).first()
        if clash is not None:
            used = Range(clash.lo, clash.hi - 1)
            overlap = next(hit for w in wanted if (hit := w.intersection(used)) is not None)
            raise Conflict(
                f"Register entry numbers {overlap.first}..{overlap.last} of {form_type} were already used by {unit}"
                f" in {year}.",
                code="register_entry_used",
                form_type=form_type,
                year=year,
                entries={"first": overlap.first, "last": overlap.last, "count": overlap.count},
            )
        await self.uow.session.execute(
            text(
                "INSERT INTO register_entries (unit_code, form_type, year, entries, operation_id)"
                " SELECT :unit, :ft, :year, int8range(lo, hi), :op"
                " FROM unnest(CAST(:lo AS bigint[]), CAST(:hi AS bigint[])) AS t(lo, hi)"
            ),
            {
                "unit": unit,
                "ft": form_type,
                "year": year,
                "lo": [e.first for e in wanted],
                "hi": [e.last + 1 for e in wanted],
                "op": operation_id,
            },
        )
