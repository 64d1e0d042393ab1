"""Local replicas of other services' data, fed by their events.

* Form types (inventory's catalogue): the lines of a request must name a known, active form type, and
  the portal fills its dropdowns from here.
* Units (identity): a deactivated unit cannot create, edit or submit requests. A unit the replica has
  not heard of is treated as active: only a deactivation we know of blocks anything.

Every write is ordered by the event's envelope time (`as_of`): an event older than the one already
applied changes nothing, so duplicates and late arrivals cannot roll a replica back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_requests.models import FormTypeRow, UnitRow


@dataclass(frozen=True, slots=True)
class FormType:
    """Inventory's form type, with inventory's field names (``name_en`` and ``digits`` are None while the
    replica holds a form type from an event that did not carry them yet)."""

    form_type_id: uuid.UUID
    code: str
    name_vi: str
    name_en: str | None
    serial_prefix: str
    digits: int | None
    template_version: str
    active: bool


def _form_type(row: FormTypeRow) -> FormType:
    return FormType(
        form_type_id=row.form_type_id,
        code=row.code,
        name_vi=row.name_vi,
        name_en=row.name_en,
        serial_prefix=row.serial_prefix,
        digits=row.digits,
        template_version=row.template_version,
        active=row.active,
    )


class FormTypeReplica:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, form_type: FormType, *, as_of: datetime) -> None:
        """Upsert the full state carried by form_type.created / form_type.updated, if newer."""
        values = {
            "form_type_id": form_type.form_type_id,
            "code": form_type.code,
            "name_vi": form_type.name_vi,
            "name_en": form_type.name_en,
            "serial_prefix": form_type.serial_prefix,
            "digits": form_type.digits,
            "template_version": form_type.template_version,
            "active": form_type.active,
            "as_of": as_of,
        }
        stmt = insert(FormTypeRow).values(**values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[FormTypeRow.form_type_id],
                set_={k: stmt.excluded[k] for k in values if k != "form_type_id"},
                where=FormTypeRow.as_of < stmt.excluded.as_of,
            )
        )

    async def by_codes(self, codes: Iterable[str]) -> dict[str, FormType]:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        rows = (await self.session.execute(select(FormTypeRow).where(FormTypeRow.code.in_(wanted)))).scalars()
        return {row.code: _form_type(row) for row in rows}

    async def page(self, *, include_inactive: bool, limit: int, after_code: str | None) -> list[FormType]:
        query = select(FormTypeRow).order_by(FormTypeRow.code).limit(limit)
        if not include_inactive:
            query = query.where(FormTypeRow.active.is_(True))
        if after_code is not None:
            query = query.where(FormTypeRow.code > after_code)
        return [_form_type(row) for row in (await self.session.execute(query)).scalars()]


class UnitReplica:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply_details(
        self,
        *,
        unit_id: uuid.UUID,
        code: str,
        name: str,
        kind: str,
        parent_code: str | None,
        province: str | None,
        as_of: datetime,
    ) -> None:
        """unit.created / unit.updated: the unit's details, if newer than those we hold."""
        details = {
            "code": code,
            "name": name,
            "kind": kind,
            "parent_code": parent_code,
            "province": province,
            "details_as_of": as_of,
        }
        stmt = insert(UnitRow).values(unit_id=unit_id, active=True, status_as_of=None, **details)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[UnitRow.unit_id],
                set_={k: stmt.excluded[k] for k in details},
                where=or_(UnitRow.details_as_of.is_(None), UnitRow.details_as_of < stmt.excluded.details_as_of),
            )
        )

    async def apply_status(self, *, unit_id: uuid.UUID, code: str, active: bool, as_of: datetime) -> None:
        """unit.deactivated / unit.reactivated: the active flag, if newer than the one we hold."""
        stmt = insert(UnitRow).values(unit_id=unit_id, code=code, active=active, status_as_of=as_of)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[UnitRow.unit_id],
                set_={"active": stmt.excluded.active, "status_as_of": stmt.excluded.status_as_of},
                where=or_(UnitRow.status_as_of.is_(None), UnitRow.status_as_of < stmt.excluded.status_as_of),
            )
        )

    async def is_deactivated(self, code: str) -> bool:
        active = (await self.session.execute(select(UnitRow.active).where(UnitRow.code == code))).scalar_one_or_none()
        return active is False
