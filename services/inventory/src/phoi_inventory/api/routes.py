"""The inventory API (/api/v1): thin routes over the service layer.

Roles: QLCL officers manage form types, print batches and QLCL's custody; unit accounts record what
happens to their own blanks; everyone signed in with a known role reads (a unit account only its own
unit's data: another unit's is 404). Errors are problem documents (see ``api.errors``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response, status
from phoi_contracts.events.security import DataExported
from phoi_kit.app import UoW, User
from phoi_kit.auth import Role
from phoi_kit.errors import NotFound, Unprocessable
from phoi_kit.openapi import Responses, problem_responses
from phoi_kit.pagination import decode_cursor, encode_cursor
from phoi_kit.params import IsoDate
from phoi_kit.uow import UnitOfWork
from phoi_kit.versioning import IfMatchRequiredByService, set_etag
from phoi_kit.vietnam import today_in_vietnam

from phoi_inventory.adapters.allocations import AllocationRecord, ranges_of
from phoi_inventory.adapters.catalogue import PrintBatchRepository, form_type_of
from phoi_inventory.adapters.queries import LedgerLine
from phoi_inventory.api.deps import AppSettings, require_reader
from phoi_inventory.api.schemas import (
    AllocationLineOut,
    AllocationOut,
    AllocationPage,
    AllocationStatusIn,
    FormTypeIn,
    FormTypeOut,
    FormTypePage,
    FormTypePatch,
    LedgerLineOut,
    MovementIn,
    MovementOut,
    PeriodOut,
    PrintBatchIn,
    PrintBatchOut,
    PrintBatchPage,
    RangeOut,
    SerialOut,
    StockLineOut,
    StockOut,
    UsageReportOut,
)
from phoi_inventory.domain import (
    BlankState,
    FormType,
    MovementItem,
    MovementKind,
    MovementRequest,
    SerialRange,
    merge_ranges,
)
from phoi_inventory.service.catalogue import Catalogue, batch_of, qlcl_actor, unknown_form_type
from phoi_inventory.service.context import user_context
from phoi_inventory.service.movements import Movements
from phoi_inventory.service.reads import Reads
from phoi_inventory.service.reports import report_json, to_csv, to_xlsx
from phoi_inventory.settings import Settings

router = APIRouter(prefix="/api/v1")


_NOTES = {
    403: "Your role may not do this (`role_required`, `movement_forbidden`).",
    404: "Not found — or another unit's data.",
    409: "Conflicts with the current stock (see the `code`).",
    422: "Invalid input (`validation_failed` or a domain code such as `range_reversed`).",
}


def _problems(*statuses: int) -> Responses:
    return problem_responses(*statuses, notes=_NOTES)


# --- form types ------------------------------------------------------------------------------------------


@router.get("/form-types", tags=["form types"], summary="Form types (loại phôi)", responses=_problems(400, 403))
async def list_form_types(
    user: User,
    uow: UoW,
    include_inactive: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> FormTypePage:
    require_reader(user)
    after = decode_cursor(cursor, 1)[0] if cursor else None
    rows = await Catalogue(uow).form_types.page(include_inactive=include_inactive, after_code=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return FormTypePage(
        items=[FormTypeOut.of(r) for r in rows], next_cursor=encode_cursor(rows[-1].code) if more else None
    )


@router.get("/form-types/{code}", tags=["form types"], responses=_problems(401, 403, 404))
async def get_form_type(code: str, user: User, uow: UoW, response: Response) -> FormTypeOut:
    require_reader(user)
    row = await Catalogue(uow).get_form_type(code)
    set_etag(response, row.version)
    return FormTypeOut.of(row)


@router.post(
    "/form-types",
    tags=["form types"],
    status_code=status.HTTP_201_CREATED,
    summary="Define a form type (QLCL officer)",
    responses=_problems(401, 403, 409, 422),
)
async def create_form_type(body: FormTypeIn, user: User, uow: UoW, response: Response) -> FormTypeOut:
    user.require(Role.QLCL_OFFICER)
    form_type = FormType(
        code=body.code,
        name_vi=body.name_vi,
        name_en=body.name_en,
        serial_prefix=body.serial_prefix,
        digits=body.digits,
        template_version=body.template_version,
        active=body.active,
    )
    row = await Catalogue(uow).create_form_type(form_type, created_by=user.user_id)
    set_etag(response, row.version)
    response.headers["Location"] = f"/api/v1/form-types/{row.code}"
    return FormTypeOut.of(row)


@router.patch(
    "/form-types/{code}",
    tags=["form types"],
    summary="Rename, new template version, (de)activate (QLCL officer; If-Match)",
    responses=_problems(401, 403, 404, 412, 422, 428),
)
async def update_form_type(
    code: str, body: FormTypePatch, user: User, uow: UoW, if_match: IfMatchRequiredByService, response: Response
) -> FormTypeOut:
    user.require(Role.QLCL_OFFICER)
    changes = body.model_dump(exclude_unset=True)
    changes = {k: v for k, v in changes.items() if v is not None}
    row = await Catalogue(uow).update_form_type(code, changes, if_match=if_match)
    set_etag(response, row.version)
    return FormTypeOut.of(row)


# --- print batches -------------------------------------------------------------------------------------


def _batch_out(row: Any, form_type: FormType | None) -> PrintBatchOut:
    serials = SerialRange(row.lo, row.hi - 1)
    labels = RangeOut.of(serials, form_type)
    return PrintBatchOut(
        id=row.id,
        form_type=row.form_type,
        first_serial=serials.first,
        last_serial=serials.last,
        quantity=serials.count,
        first_label=labels.first_label,
        last_label=labels.last_label,
        printer=row.printer,
        contract_ref=row.contract_ref,
        received_on=row.received_on,
        note=row.note,
        created_by=row.created_by,
        created_at=row.created_at,
    )


@router.post(
    "/print-batches",
    tags=["stock"],
    status_code=status.HTTP_201_CREATED,
    summary="Record a print batch into the central stock (QLCL officer)",
    description="Serials already printed (in any state, destroyed ones included) are refused with 409 "
    "`print_batch_overlap` naming the conflicting range. Waiting allocations the batch covers complete at once, "
    "oldest approval first.",
    responses=_problems(401, 403, 409, 422),
)
async def record_print_batch(body: PrintBatchIn, user: User, uow: UoW, response: Response) -> PrintBatchOut:
    user.require(Role.QLCL_OFFICER)
    batch = batch_of(
        form_type=body.form_type,
        first=body.first_serial,
        last=body.last_serial,
        printer=body.printer,
        contract_ref=body.contract_ref,
        received_on=body.received_on,
        note=body.note,
    )
    catalogue = Catalogue(uow)
    batch_id = await catalogue.record_print_batch(batch, qlcl_actor(user.user_id))
    row = await PrintBatchRepository(uow.session).get(batch_id)
    form_type = await catalogue.form_types.get(body.form_type)
    response.headers["Location"] = f"/api/v1/print-batches/{batch_id}"
    return _batch_out(row, form_type_of(form_type) if form_type else None)


@router.get("/print-batches", tags=["stock"], summary="Print batches received", responses=_problems(400, 401, 403))
async def list_print_batches(
    user: User,
    uow: UoW,
    form_type: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> PrintBatchPage:
    user.require(Role.QLCL_OFFICER, Role.QLCL_ADMIN, Role.AUDITOR)
    after = None
    if cursor:
        at, batch_id = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(at), uuid.UUID(batch_id))
        except ValueError:
            after = None
    rows = await PrintBatchRepository(uow.session).page(form_type=form_type, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    codes = sorted({r.form_type for r in rows})
    form_types = {c: form_type_of(r) for c, r in (await Catalogue(uow).form_types.many(codes)).items()}
    return PrintBatchPage(
        items=[_batch_out(r, form_types.get(r.form_type)) for r in rows],
        next_cursor=encode_cursor(rows[-1].created_at.isoformat(), str(rows[-1].id)) if more else None,
    )


@router.get("/print-batches/{batch_id}", tags=["stock"], responses=_problems(401, 403, 404))
async def get_print_batch(batch_id: uuid.UUID, user: User, uow: UoW) -> PrintBatchOut:
    user.require(Role.QLCL_OFFICER, Role.QLCL_ADMIN, Role.AUDITOR)
    row = await PrintBatchRepository(uow.session).get(batch_id)
    if row is None:
        raise NotFound("No such print batch.", code="print_batch_not_found")
    form_type = await Catalogue(uow).form_types.get(row.form_type)
    return _batch_out(row, form_type_of(form_type) if form_type else None)


# --- movements -----------------------------------------------------------------------------------------


def _serial_number(value: int | str, form_type: FormType) -> int:
    if isinstance(value, int):
        return value
    raw = value.strip()
    return int(raw) if raw.isascii() and raw.isdigit() else form_type.parse_serial(raw)


def _line_out(line: LedgerLine | Any, form_type: FormType | None) -> LedgerLineOut:
    movement = line.movement if isinstance(line, LedgerLine) else line
    return LedgerLineOut(
        id=line.id if isinstance(line, LedgerLine) else None,
        operation_id=uuid.UUID(movement.operation_id),
        kind=movement.kind.value,
        reason=movement.reason.value,
        form_type=movement.form_type,
        range=RangeOut.of(movement.serials, form_type),
        from_state=None if movement.from_state is None else movement.from_state.value,
        to_state=movement.to_state.value,
        from_holder=movement.from_holder,
        to_holder=movement.to_holder,
        allocation_id=None if movement.allocation_id is None else uuid.UUID(movement.allocation_id),
        document_ref=movement.document_ref,
        actor_id=movement.actor_id,
        actor_role=movement.actor_role.value,
        at=movement.at,
        occurred_on=line.occurred_on if isinstance(line, LedgerLine) else None,
        register_entry_first=movement.register_entry_first,
        note=movement.note,
        balance_after=movement.balance_after,
    )


@router.post(
    "/movements",
    tags=["stock"],
    status_code=status.HTTP_201_CREATED,
    summary="Record use, spoil, lose, destroy, return (unit) or spoil/lose/destroy/receive back (QLCL)",
    description="All or nothing: a serial the caller does not hold answers 404 `serials_not_held` (another "
    "unit's, the central stock's or never printed: the same answer), one it holds in a state the movement "
    "does not take 409 `serials_wrong_state`; each names the first such range, and nothing is applied. "
    "Ranges and single serials may be mixed; thousands are fine.",
    responses=_problems(401, 403, 404, 409, 422),
)
async def record_movement(body: MovementIn, user: User, uow: UoW, settings: AppSettings) -> MovementOut:
    ctx = user_context(user)
    form_type_row = await Catalogue(uow).form_types.get(body.form_type)
    if form_type_row is None:
        raise unknown_form_type(body.form_type)
    form_type = form_type_of(form_type_row)
    items = [
        MovementItem(
            SerialRange(
                _serial_number(item.first, form_type),
                _serial_number(item.last if item.last is not None else item.first, form_type),
            ),
            item.register_entry_first,
        )
        for item in body.items
    ]
    items += [MovementItem(SerialRange.single(_serial_number(s, form_type))) for s in body.serials]
    request = MovementRequest(
        kind=MovementKind(body.kind),
        form_type=body.form_type,
        items=tuple(items),
        document_ref=body.document_ref,
        reason=body.reason,
        holder_unit=body.holder_unit,
        note=body.note,
    )
    occurred_on = body.occurred_on or today_in_vietnam(ctx.at)
    if occurred_on > today_in_vietnam(ctx.at):
        raise Unprocessable("occurred_on is in the future.", code="occurred_on_invalid")
    recorded = await Movements(uow, settings).record(request, ctx, occurred_on=occurred_on)
    return _movement_out(recorded.movement_id, recorded.lines, form_type, holder_unit=recorded.holder_unit)


@router.get(
    "/movements/{movement_id}",
    tags=["stock"],
    summary="One recorded movement (as POST /movements answered it), e.g. to print its destruction record",
    responses=_problems(401, 403, 404),
)
async def get_movement(movement_id: uuid.UUID, user: User, uow: UoW, settings: AppSettings) -> MovementOut:
    require_reader(user)
    reads = Reads(uow, settings)
    lines = await reads.movement(user, movement_id)
    form_type = await reads.form_type(lines[0].movement.form_type)
    return _movement_out(movement_id, lines, form_type, holder_unit=lines[0].movement.unit)


def _movement_out(
    movement_id: uuid.UUID, lines: Sequence[LedgerLine | Any], form_type: FormType, *, holder_unit: str | None
) -> MovementOut:
    movements = [line.movement if isinstance(line, LedgerLine) else line for line in lines]
    return MovementOut(
        movement_id=movement_id,
        kind=movements[0].kind.value,
        form_type=form_type.code,
        holder_unit=holder_unit,
        to_state=movements[0].to_state.value,
        quantity=sum(m.quantity for m in movements),
        ranges=[RangeOut.of(r, form_type) for r in merge_ranges(m.serials for m in movements)],
        lines=[_line_out(line, form_type) for line in lines],
    )


# --- stock, allocations, serials -------------------------------------------------------------------------


@router.get(
    "/stock",
    tags=["stock"],
    summary="Stock per form type, state and custodian: counts and inclusive ranges",
    description="A unit account sees its own unit's blanks. QLCL and auditors see everything, or one unit "
    "(`unit_code`), or the central stock (`unit_code=QLCL`).",
    responses=_problems(401, 403, 404),
)
async def stock(
    user: User,
    uow: UoW,
    settings: AppSettings,
    form_type: str | None = None,
    unit_code: str | None = None,
    state: Annotated[list[BlankState] | None, Query()] = None,
) -> StockOut:
    require_reader(user)
    reads = Reads(uow, settings)
    groups = await reads.stock(
        user, form_type=form_type, unit_code=unit_code, states=[s.value for s in state] if state else None
    )
    codes = sorted({g.form_type for g in groups})
    form_types = {c: form_type_of(r) for c, r in (await reads.form_types.many(codes)).items()}
    return StockOut(
        items=[
            StockLineOut(
                form_type=g.form_type,
                state=g.state.value,
                holder_unit=g.holder_unit,
                count=g.count,
                block_count=g.blocks,
                ranges=[RangeOut.of(r, form_types.get(g.form_type)) for r in g.ranges],
                ranges_truncated=g.ranges_total > len(g.ranges),
            )
            for g in groups
        ]
    )


def _allocation_out(record: AllocationRecord, form_types: dict[str, FormType]) -> AllocationOut:
    row = record.row
    return AllocationOut(
        allocation_id=row.id,
        request_id=row.request_id,
        approval_revision=row.approval_revision,
        unit_code=row.unit_code,
        status=row.status,
        approved_at=row.approved_at,
        completed_at=row.completed_at,
        received_at=row.received_at,
        received_on=row.received_on,
        closed_reason=row.closed_reason,
        lines=[
            AllocationLineOut(
                line_id=line.line_id,
                line_no=line.line_no,
                form_type=line.form_type,
                requested_quantity=line.requested_quantity,
                quantity=line.quantity,
                ranges=[RangeOut.of(r, form_types.get(line.form_type)) for r in ranges_of(line.ranges)],
                available_quantity=line.available_quantity,
                accepted_quantity=line.accepted_quantity,
                rejected_ranges=None
                if line.rejected_ranges is None
                else [RangeOut.of(r, form_types.get(line.form_type)) for r in ranges_of(line.rejected_ranges)],
                discrepancy_note=line.discrepancy_note,
            )
            for line in record.lines
        ],
    )


async def _form_types_for(reads: Reads, records: list[AllocationRecord]) -> dict[str, FormType]:
    codes = sorted({line.form_type for r in records for line in r.lines})
    return {c: form_type_of(r) for c, r in (await reads.form_types.many(codes)).items()}


@router.get(
    "/allocations",
    tags=["allocations"],
    summary="Allocations (per request: ?request_id=), oldest approval first",
    responses=_problems(400, 401, 403, 404),
)
async def list_allocations(
    user: User,
    uow: UoW,
    settings: AppSettings,
    request_id: uuid.UUID | None = None,
    unit_code: str | None = None,
    status_: Annotated[AllocationStatusIn | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> AllocationPage:
    require_reader(user)
    after = None
    if cursor:
        raw = decode_cursor(cursor, 1)[0]
        after = int(raw) if raw.isdigit() else None
    reads = Reads(uow, settings)
    records = await reads.allocations(
        user, request_id=request_id, unit_code=unit_code, status=status_, after_seq=after, limit=limit + 1
    )
    more = len(records) > limit
    records = records[:limit]
    form_types = await _form_types_for(reads, records)
    return AllocationPage(
        items=[_allocation_out(r, form_types) for r in records],
        next_cursor=encode_cursor(str(records[-1].row.seq)) if more else None,
    )


@router.get("/allocations/{allocation_id}", tags=["allocations"], responses=_problems(401, 403, 404))
async def get_allocation(allocation_id: uuid.UUID, user: User, uow: UoW, settings: AppSettings) -> AllocationOut:
    require_reader(user)
    reads = Reads(uow, settings)
    record = await reads.allocation(user, allocation_id)
    return _allocation_out(record, await _form_types_for(reads, [record]))


@router.get(
    "/serials/{form_type}/{serial}",
    tags=["stock"],
    summary="One blank: current state, holder and full history",
    description="`serial` is the number or the printed label (e.g. PT0000042).",
    responses=_problems(401, 403, 404, 422),
)
async def get_serial(form_type: str, serial: str, user: User, uow: UoW, settings: AppSettings) -> SerialOut:
    require_reader(user)
    view = await Reads(uow, settings).serial(user, form_type, serial)
    return SerialOut(
        form_type=view.form_type.code,
        serial=view.serial,
        label=view.form_type.format_serial(view.serial),
        state=view.block.state.value,
        holder_unit=view.block.holder_unit,
        allocation_id=None if view.block.allocation_id is None else uuid.UUID(view.block.allocation_id),
        request_id=view.request_id,
        history=[_line_out(line, view.form_type) for line in view.history],
    )


# --- reports -------------------------------------------------------------------------------------------


@router.get(
    "/reports/usage",
    tags=["reports"],
    summary="Usage report per unit and period (JSON, or a CSV / XLSX download)",
    description="Opening balance, received, used, spoiled, lost, destroyed, returned, closing balance, each "
    "with its inclusive serial ranges, per form type. `from` and `to` are inclusive dates (Vietnam time). "
    "A download (`format=csv|xlsx`, or JSON with `record_as=pdf` for a printed copy) publishes "
    "`data.exported.v1`.",
    responses={
        **_problems(401, 403, 404, 422),
        200: {
            "content": {
                "application/json": {},
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        },
    },
    response_model=UsageReportOut,
)
async def usage_report(
    user: User,
    uow: UoW,
    settings: AppSettings,
    period_from: Annotated[IsoDate, Query(alias="from")],
    period_to: Annotated[IsoDate, Query(alias="to")],
    unit_code: str | None = None,
    form_type: str | None = None,
    format: Literal["json", "csv", "xlsx"] = "json",
    record_as: Annotated[
        Literal["pdf"] | None,
        Query(description="With JSON: the caller prints it as this file (the portal's PDF), so it is an export."),
    ] = None,
) -> Any:
    require_reader(user)
    report_set = await Reads(uow, settings).usage(
        user, unit_code=unit_code, form_type=form_type, period_from=period_from, period_to=period_to
    )
    filters = {"unit_code": report_set.unit_code, "from": period_from.isoformat(), "to": period_to.isoformat()}
    if form_type is not None:
        filters["form_type"] = form_type
    if format == "json":
        body = report_json(report_set)
        export_id = None
        if record_as is not None:
            export_id = _record_export(uow, settings, filters, file_format=record_as, rows=len(body))
        return UsageReportOut(
            unit_code=report_set.unit_code,
            period=PeriodOut(from_=period_from, to=period_to),
            generated_at=report_set.generated_at,
            form_types=body,
            export_id=export_id,
        )
    if record_as is not None:
        raise Unprocessable("record_as goes with format=json only.", code="record_as_needs_json", field="record_as")
    if format == "csv":
        content, rows = to_csv(report_set)
        media = "text/csv; charset=utf-8"
    else:
        content, rows = to_xlsx(report_set)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    _record_export(uow, settings, filters, file_format=format, rows=rows)
    unit = re.sub(r"[^A-Za-z0-9._-]", "_", report_set.unit_code)
    name = f"bao-cao-su-dung-phoi_{unit}_{period_from:%Y%m%d}-{period_to:%Y%m%d}.{format}"
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"},
    )


def _record_export(
    uow: UnitOfWork,
    settings: Settings,
    filters: dict[str, str],
    *,
    file_format: Literal["csv", "xlsx", "pdf"],
    rows: int,
) -> uuid.UUID:
    export_id = uuid.uuid4()
    uow.publish(
        DataExported(
            export_id=export_id,
            service=settings.service_name,
            report_kind="usage_report",
            format=file_format,
            filters=filters,
            row_count=rows,
        )
    )
    return export_id


__all__ = ["router"]
