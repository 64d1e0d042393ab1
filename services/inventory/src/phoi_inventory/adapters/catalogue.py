"""Form types and print batches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_inventory.domain import FormType, SerialRange
from phoi_inventory.models import FormTypeRow, PrintBatchRow


def form_type_of(row: FormTypeRow) -> FormType:
    return FormType(
        code=row.code,
        name_vi=row.name_vi,
        name_en=row.name_en,
        serial_prefix=row.serial_prefix,
        digits=row.digits,
        template_version=row.template_version,
        active=row.active,
    )


class FormTypeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, code: str) -> FormTypeRow | None:
        result = await self.session.execute(select(FormTypeRow).where(FormTypeRow.code == code))
        return result.scalar_one_or_none()

    async def many(self, codes: Sequence[str]) -> dict[str, FormTypeRow]:
        if not codes:
            return {}
        result = await self.session.execute(select(FormTypeRow).where(FormTypeRow.code.in_(list(codes))))
        return {row.code: row for row in result.scalars()}

    async def page(self, *, include_inactive: bool, after_code: str | None, limit: int) -> list[FormTypeRow]:
        query = select(FormTypeRow).order_by(FormTypeRow.code).limit(limit)
        if not include_inactive:
            query = query.where(FormTypeRow.active.is_(True))
        if after_code is not None:
            query = query.where(FormTypeRow.code > after_code)
        return list((await self.session.execute(query)).scalars())

    async def insert(self, form_type: FormType, *, created_by: str) -> FormTypeRow | None:
        """Insert; ``None`` when the code exists (also under a concurrent insert of the same code)."""
        new_id = uuid.uuid4()
        result = await self.session.execute(
            text(
                "INSERT INTO form_types (id, code, name_vi, name_en, serial_prefix, digits, template_version,"
                " active, version, created_by) VALUES (:id, :code, :name_vi, :name_en, :prefix, :digits,"
                " :template, :active, 1, :by) ON CONFLICT (code) DO NOTHING RETURNING id"
            ),
            {
                "id": new_id,
                "code": form_type.code,
                "name_vi": form_type.name_vi,
                "name_en": form_type.name_en,
                "prefix": form_type.serial_prefix,
                "digits": form_type.digits,
                "template": form_type.template_version,
                "active": form_type.active,
                "by": created_by,
            },
        )
        if result.first() is None:
            return None
        return await self.get(form_type.code)

    async def update(self, row: FormTypeRow, values: dict[str, Any], *, at: datetime) -> FormTypeRow:
        await self.session.execute(
            update(FormTypeRow)
            .where(FormTypeRow.id == row.id)
            .values(**values, version=FormTypeRow.version + 1, updated_at=at)
        )
        await self.session.refresh(row)
        return row


class PrintBatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def first_overlap(self, form_type: str, serials: SerialRange) -> tuple[uuid.UUID, SerialRange] | None:
        """The lowest printed batch of ``form_type`` sharing a serial with ``serials``."""
        row = (
            await self.session.execute(
                text(
                    "SELECT id, lower(serials) AS lo, upper(serials) AS hi FROM print_batches"
                    " WHERE form_type = :ft AND serials && int8range(:lo, :hi) ORDER BY lower(serials) LIMIT 1"
                ),
                {"ft": form_type, "lo": serials.first, "hi": serials.last + 1},
            )
        ).first()
        if row is None:
            return None
        return row.id, SerialRange(row.lo, row.hi - 1)

    async def insert(
        self,
        *,
        batch_id: uuid.UUID,
        form_type: str,
        serials: SerialRange,
        printer: str,
        contract_ref: str,
        received_on: date,
        note: str | None,
        created_by: str,
    ) -> None:
        await self.session.execute(
            text(
                "INSERT INTO print_batches (id, form_type, serials, printer, contract_ref, received_on, note,"
                " created_by) VALUES (:id, :ft, int8range(:lo, :hi), :printer, :contract, :received_on, :note, :by)"
            ),
            {
                "id": batch_id,
                "ft": form_type,
                "lo": serials.first,
                "hi": serials.last + 1,
                "printer": printer,
                "contract": contract_ref,
                "received_on": received_on,
                "note": note,
                "by": created_by,
            },
        )

    async def get(self, batch_id: uuid.UUID) -> Row[Any] | None:
        return (
            await self.session.execute(
                text(
                    "SELECT id, form_type, lower(serials) AS lo, upper(serials) AS hi, printer, contract_ref,"
                    " received_on, note, created_by, created_at FROM print_batches WHERE id = :id"
                ),
                {"id": batch_id},
            )
        ).first()

    async def page(
        self, *, form_type: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Row[Any]]:
        clauses = ["TRUE"]
        params: dict[str, Any] = {"n": limit}
        if form_type is not None:
            clauses.append("form_type = :ft")
            params["ft"] = form_type
        if after is not None:
            clauses.append("(created_at, id) > (:after_at, :after_id)")
            params["after_at"], params["after_id"] = after
        rows = await self.session.execute(
            text(
                "SELECT id, form_type, lower(serials) AS lo, upper(serials) AS hi, printer, contract_ref,"  # noqa: S608 - constant SQL, values bound
                " received_on, note, created_by, created_at FROM print_batches"
                f" WHERE {' AND '.join(clauses)} ORDER BY created_at, id LIMIT :n"
            ),
            params,
        )
        return list(rows)


__all__ = ["FormTypeRepository", "PrintBatchRepository", "PrintBatchRow", "form_type_of"]
