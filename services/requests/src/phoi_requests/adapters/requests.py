"""The Request aggregate in PostgreSQL: load it, save it with an optimistic version check, list and count.

Saving follows the domain's persistence contract: the root row is updated with
``UPDATE requests ... WHERE id = :id AND version = :loaded_version`` (zero rows → `StaleRequest`), the
lines and their allocated ranges are rewritten (a request has at most 50 lines), attachment rows are
synchronised by id, and only the history entries newer than the loaded version are inserted (history is
append-only).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import ColumnElement, delete, exists, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_requests.domain import (
    Action,
    Actor,
    Attachment,
    AttachmentChange,
    AttachmentEdit,
    HistoryEntry,
    LetterCheck,
    Request,
    RequestLine,
    SerialRange,
    Status,
    role_from_name,
)
from phoi_requests.models import AttachmentRow, HistoryRow, LineRow, RangeRow, RequestRow


class StaleRequest(Exception):
    """Another writer saved the request since it was loaded (answered like a stale ``If-Match``)."""

    code: ClassVar[str] = "version_mismatch"

    def __init__(self, request_id: uuid.UUID, loaded_version: int) -> None:
        super().__init__("The request changed while you were acting on it; read it again.")
        self.request_id = request_id
        self.loaded_version = loaded_version

    def details(self) -> dict[str, object]:
        return {"expected_version": self.loaded_version}


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """Conditions of a listing; None means "any". `created_*` bound `created_at` as [from, before)."""

    unit_code: str | None = None
    statuses: frozenset[Status] | None = None
    form_type_code: str | None = None
    academic_year: str | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class LineSummary:
    line_id: uuid.UUID
    form_type_code: str
    quantity: int
    approved_quantity: int | None


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """A request as listed: the root and its lines, no ranges, no history, no blobs."""

    id: uuid.UUID
    unit_code: str
    academic_year: str
    exam_session: str | None
    status: Status
    version: int
    created_at: datetime
    updated_at: datetime
    lines: tuple[LineSummary, ...]
    attachment_count: int


class RequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- load -----------------------------------------------------------------------------------------

    async def get(self, request_id: uuid.UUID, *, for_update: bool = False) -> Request | None:
        """The aggregate, or None. `for_update` locks the root row until the transaction ends, so
        concurrent writers of one request queue up instead of failing late."""
        # populate_existing: a consumer batch loads the same request twice in one session; always read
        # the rows, never objects left in the identity map by an earlier load.
        fresh = {"populate_existing": True}
        query = select(RequestRow).where(RequestRow.id == request_id).execution_options(**fresh)
        if for_update:
            query = query.with_for_update()
        root = (await self.session.execute(query)).scalar_one_or_none()
        if root is None:
            return None
        s = self.session
        lines = await s.execute(
            select(LineRow)
            .where(LineRow.request_id == request_id)
            .order_by(LineRow.position)
            .execution_options(**fresh)
        )
        ranges = await s.execute(
            select(RangeRow)
            .where(RangeRow.request_id == request_id)
            .order_by(RangeRow.line_id, RangeRow.first)
            .execution_options(**fresh)
        )
        attachments = await s.execute(
            select(AttachmentRow)
            .where(AttachmentRow.request_id == request_id)
            .order_by(AttachmentRow.position, AttachmentRow.created_at)
            .execution_options(**fresh)
        )
        history = await s.execute(
            select(HistoryRow)
            .where(HistoryRow.request_id == request_id)
            .order_by(HistoryRow.sequence)
            .execution_options(**fresh)
        )
        by_line: dict[uuid.UUID, list[SerialRange]] = defaultdict(list)
        for r in ranges.scalars():
            by_line[r.line_id].append(SerialRange(r.first, r.last))
        return Request(
            id=root.id,
            unit_code=root.unit_code,
            academic_year=root.academic_year,
            exam_session=root.exam_session,
            justification=root.justification,
            lines=tuple(_line(row, by_line.get(row.id, [])) for row in lines.scalars()),
            attachments=tuple(
                Attachment(
                    id=a.id,
                    filename=a.filename,
                    content_type=a.content_type,
                    size_bytes=a.size_bytes,
                    sha256=a.sha256,
                    signature=None if a.signature_check is None else LetterCheck.from_dict(a.signature_check),
                )
                for a in attachments.scalars()
            ),
            status=Status(root.status),
            version=root.version,
            history=tuple(_history(h) for h in history.scalars()),
            created_at=root.created_at,
            updated_at=root.updated_at,
            approval_revision=root.approval_revision,
            allocation_id=root.allocation_id,
            outcome_as_of=root.outcome_as_of,
            received_on=root.received_on,
        )

    # --- save -----------------------------------------------------------------------------------------

    async def add(self, request: Request) -> None:
        """Insert a request made by `Request.create`."""
        await self.session.execute(insert(RequestRow).values(id=request.id, **_root_values(request)))
        await self._write_children(request, loaded_version=0, existing_attachments={})

    async def save(self, request: Request, *, loaded_version: int) -> None:
        """Write a changed aggregate; `StaleRequest` if someone saved it since `loaded_version`."""
        result = await self.session.execute(
            update(RequestRow)
            .where(RequestRow.id == request.id, RequestRow.version == loaded_version)
            .values(**_root_values(request))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleRequest(request.id, loaded_version)
        await self.session.execute(  # the ranges go with their lines (ON DELETE CASCADE)
            delete(LineRow).where(LineRow.request_id == request.id).execution_options(synchronize_session=False)
        )
        rows = await self.session.execute(
            select(AttachmentRow.id, AttachmentRow.position).where(AttachmentRow.request_id == request.id)
        )
        await self._write_children(
            request, loaded_version=loaded_version, existing_attachments={row[0]: row[1] for row in rows.all()}
        )

    async def _write_children(
        self, request: Request, *, loaded_version: int, existing_attachments: dict[uuid.UUID, int]
    ) -> None:
        s = self.session
        if request.lines:
            await s.execute(
                insert(LineRow), [_line_values(request.id, i, line) for i, line in enumerate(request.lines)]
            )
        ranges = [
            {"request_id": request.id, "line_id": line.id, "first": r.first, "last": r.last}
            for line in request.lines
            for r in line.allocated_ranges
        ]
        if ranges:
            await s.execute(insert(RangeRow), ranges)
        keep = {a.id for a in request.attachments}
        gone = [a for a in existing_attachments if a not in keep]
        if gone:
            await s.execute(
                delete(AttachmentRow).where(AttachmentRow.id.in_(gone)).execution_options(synchronize_session=False)
            )
        position = max(existing_attachments.values(), default=-1)
        new = []
        for a in request.attachments:
            if a.id not in existing_attachments:
                position += 1
                new.append(
                    {
                        "id": a.id,
                        "request_id": request.id,
                        "position": position,
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size_bytes": a.size_bytes,
                        "sha256": a.sha256,
                        "signature_result": a.signature.result.value if a.signature else None,
                        "signature_check": a.signature.to_dict() if a.signature else None,
                    }
                )
        if new:
            await s.execute(insert(AttachmentRow), new)
        entries = [h for h in request.history if h.sequence > loaded_version]
        if entries:
            await s.execute(insert(HistoryRow), [_history_values(request.id, h) for h in entries])

    # --- list and count -------------------------------------------------------------------------------

    async def page(
        self,
        where: RequestFilter,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        oldest_first: bool = False,
    ) -> list[RequestSummary]:
        """Newest first (created_at, id descending) unless `oldest_first` (a review queue: the longest
        waiting on top); `after` is the last item of the previous page."""
        query = select(RequestRow).where(*_conditions(where))
        key = tuple_(RequestRow.created_at, RequestRow.id)
        if after is not None:
            query = query.where(key > tuple_(*after) if oldest_first else key < tuple_(*after))
        if oldest_first:
            query = query.order_by(RequestRow.created_at, RequestRow.id).limit(limit)
        else:
            query = query.order_by(RequestRow.created_at.desc(), RequestRow.id.desc()).limit(limit)
        roots = list((await self.session.execute(query)).scalars())
        if not roots:
            return []
        ids = [r.id for r in roots]
        lines: dict[uuid.UUID, list[LineSummary]] = defaultdict(list)
        line_rows = await self.session.execute(
            select(LineRow.request_id, LineRow.id, LineRow.form_type_code, LineRow.quantity, LineRow.approved_quantity)
            .where(LineRow.request_id.in_(ids))
            .order_by(LineRow.request_id, LineRow.position)
        )
        for request_id, line_id, code, quantity, approved in line_rows.all():
            lines[request_id].append(LineSummary(line_id, code, quantity, approved))
        counted = await self.session.execute(
            select(AttachmentRow.request_id, func.count())
            .where(AttachmentRow.request_id.in_(ids))
            .group_by(AttachmentRow.request_id)
        )
        attachments: dict[uuid.UUID, int] = {row[0]: row[1] for row in counted.all()}
        return [
            RequestSummary(
                id=r.id,
                unit_code=r.unit_code,
                academic_year=r.academic_year,
                exam_session=r.exam_session,
                status=Status(r.status),
                version=r.version,
                created_at=r.created_at,
                updated_at=r.updated_at,
                lines=tuple(lines[r.id]),
                attachment_count=attachments.get(r.id, 0),
            )
            for r in roots
        ]

    async def count_by_status(self, where: RequestFilter) -> dict[Status, int]:
        rows = await self.session.execute(
            select(RequestRow.status, func.count()).where(*_conditions(where)).group_by(RequestRow.status)
        )
        counts = dict.fromkeys(Status, 0)
        for status, n in rows.all():
            counts[Status(status)] = n
        return counts


# ---------------------------------------------------------------------------------------------------------
# Row <-> domain


def _conditions(where: RequestFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if where.unit_code is not None:
        conds.append(RequestRow.unit_code == where.unit_code)
    if where.statuses is not None:
        conds.append(RequestRow.status.in_(sorted(s.value for s in where.statuses)))
    if where.academic_year is not None:
        conds.append(RequestRow.academic_year == where.academic_year)
    if where.created_from is not None:
        conds.append(RequestRow.created_at >= where.created_from)
    if where.created_before is not None:
        conds.append(RequestRow.created_at < where.created_before)
    if where.form_type_code is not None:
        conds.append(
            exists().where(LineRow.request_id == RequestRow.id, LineRow.form_type_code == where.form_type_code)
        )
    return conds


def _root_values(request: Request) -> dict[str, object]:
    return {
        "unit_code": request.unit_code,
        "academic_year": request.academic_year,
        "exam_session": request.exam_session,
        "justification": request.justification,
        "status": request.status.value,
        "version": request.version,
        "approval_revision": request.approval_revision,
        "allocation_id": request.allocation_id,
        "outcome_as_of": request.outcome_as_of,
        "received_on": request.received_on,
        "created_at": request.created_at,
        "updated_at": request.updated_at,
    }


def _line_values(request_id: uuid.UUID, position: int, line: RequestLine) -> dict[str, object]:
    return {
        "id": line.id,
        "request_id": request_id,
        "position": position,
        "form_type_code": line.form_type_code,
        "quantity": line.quantity,
        "justification": line.justification,
        "expected_graduates": line.expected_graduates,
        "approved_quantity": line.approved_quantity,
        "shortfall": line.shortfall,
        "accepted_quantity": line.accepted_quantity,
        "discrepancy_note": line.discrepancy_note,
        "rejected_ranges": None if line.rejected_ranges is None else [r.to_dict() for r in line.rejected_ranges],
    }


def _line(row: LineRow, ranges: Sequence[SerialRange]) -> RequestLine:
    return RequestLine(
        id=row.id,
        form_type_code=row.form_type_code,
        quantity=row.quantity,
        justification=row.justification,
        expected_graduates=row.expected_graduates,
        approved_quantity=row.approved_quantity,
        shortfall=row.shortfall,
        allocated_ranges=tuple(ranges),
        accepted_quantity=row.accepted_quantity,
        discrepancy_note=row.discrepancy_note,
        rejected_ranges=(
            None if row.rejected_ranges is None else tuple(SerialRange.from_dict(r) for r in row.rejected_ranges)
        ),
    )


def _history_values(request_id: uuid.UUID, h: HistoryEntry) -> dict[str, object]:
    return {
        "request_id": request_id,
        "sequence": h.sequence,
        "action": h.action.value,
        "from_status": h.from_status.value if h.from_status else None,
        "to_status": h.to_status.value,
        "actor_user_id": h.actor.user_id,
        "actor_username": h.actor.username,
        "actor_role": h.actor.role_name,
        "actor_unit_code": h.actor.unit_code,
        "at": h.at,
        "comment": h.comment,
        "attachment_change": h.attachment.change.value if h.attachment else None,
        "attachment_filename": h.attachment.filename if h.attachment else None,
    }


def _history(row: HistoryRow) -> HistoryEntry:
    return HistoryEntry(
        sequence=row.sequence,
        action=Action(row.action),
        from_status=Status(row.from_status) if row.from_status else None,
        to_status=Status(row.to_status),
        actor=Actor(
            user_id=row.actor_user_id,
            username=row.actor_username,
            role=role_from_name(row.actor_role),
            unit_code=row.actor_unit_code,
        ),
        at=row.at,
        comment=row.comment,
        attachment=(
            AttachmentEdit(AttachmentChange(row.attachment_change), row.attachment_filename)
            if row.attachment_change and row.attachment_filename
            else None
        ),
    )
