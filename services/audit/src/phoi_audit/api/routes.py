"""The audit API: read the log, export it, verify it.

Who may read (Decision 2699 Art. 8-9; least privilege):

- ``auditor`` and ``qlcl_admin``: every entry, the export, and verification;
- ``unit_account``: entries whose unit concerned is its own unit (its requests, allocations, stock,
  account, sign-ins, refusals, exports), and the export of those; no verification (it recomputes
  everyone's entries);
- ``qlcl_officer``: nothing but seals (``GET /seal``: a fact's sequence and hashes, no content), so that
  the records they print (a blank handover record) carry them. Officers perform most of the actions the
  log records (reviews, allocations, handovers); oversight of those actions is the auditors' and
  administrators' job, and an officer's own working views (a request's history, a serial's history, the
  stock ledger) live in the requests and inventory services. A refusal is a 403 ``role_required`` and,
  like every 403, is itself published as ``security.access_denied.v1`` and ends up in this log.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from phoi_kit.app import UoW, User, runtime_of
from phoi_kit.auth import CurrentUser, Role
from phoi_kit.errors import BadRequest, Forbidden, NotFound, Unprocessable
from phoi_kit.logging import correlation_id_var
from phoi_kit.openapi import problem_responses
from phoi_kit.params import IsoDateTime

from phoi_audit.adapters import entries as repo
from phoi_audit.api.schemas import EntryOut, EntryPage, HeadOut, SealOut, VerifyOut
from phoi_audit.domain import Checkpoint
from phoi_audit.service.export import stream_csv
from phoi_audit.service.verification import verify_chain
from phoi_audit.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["audit"])

READERS: Final = (Role.AUDITOR, Role.QLCL_ADMIN, Role.UNIT_ACCOUNT)
VERIFIERS: Final = (Role.AUDITOR, Role.QLCL_ADMIN)
SEAL_READERS: Final = (*READERS, Role.QLCL_OFFICER)
PAGE_DEFAULT: Final = 50
PAGE_MAX: Final = 500
MAX_SEQUENCE: Final = 2**63 - 1  # PostgreSQL bigint
TYPE_FILTER: Final = r"^[a-z][a-z0-9_.]*\*?$"

Actor = Annotated[str | None, Query(max_length=200, description="User id or username of the actor.")]
Unit = Annotated[str | None, Query(max_length=64, description="Unit concerned (unit code).")]
Subject = Annotated[str | None, Query(max_length=200, description="Subject: request id, account id, user id...")]
Types = Annotated[
    list[Annotated[str, Query(pattern=TYPE_FILTER, max_length=100)]] | None,
    Query(
        alias="type",
        description="Event type; repeat for several; a trailing * matches a prefix (`auth.*`).",
    ),
]
From = Annotated[IsoDateTime | None, Query(alias="from", description="Occurred at or after (with time zone).")]
To = Annotated[IsoDateTime | None, Query(alias="to", description="Occurred before (with time zone).")]


def _settings(request: Request) -> Settings:
    settings = runtime_of(request).settings
    assert isinstance(settings, Settings)
    return settings


def _reader_scope(user: CurrentUser) -> str | None:
    """The unit a reader is confined to (``None``: everything)."""
    user.require(*READERS)
    if user.has_any(VERIFIERS):
        return None
    if not user.unit_code:
        raise Forbidden("This unit account has no unit.", code="unit_required")
    return user.unit_code


def _filter(
    user: CurrentUser,
    *,
    actor: str | None,
    unit: str | None,
    subject: str | None,
    types: list[str] | None,
    occurred_from: datetime | None,
    occurred_to: datetime | None,
) -> repo.EntryFilter:
    if occurred_from is not None and occurred_to is not None and occurred_to <= occurred_from:
        raise Unprocessable("`to` must be after `from`.", code="invalid_time_range")
    return repo.EntryFilter(
        actor=actor,
        unit=unit,
        subject=subject,
        types=tuple(types or ()),
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        scope_unit=_reader_scope(user),
    )


def _encode_cursor(sequence: int, order: str) -> str:
    raw = json.dumps({"s": sequence, "o": order}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, order: str) -> int:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        sequence, cursor_order = raw["s"], raw["o"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from exc
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0 or cursor_order != order:
        raise BadRequest("The cursor is not valid for this order.", code="invalid_cursor")
    return sequence


@router.get(
    "/entries", summary="List audit entries (filters, cursor pages)", responses=problem_responses(400, 403, 422)
)
async def list_entries(
    user: User,
    uow: UoW,
    actor: Actor = None,
    unit: Unit = None,
    subject: Subject = None,
    types: Types = None,
    occurred_from: From = None,
    occurred_to: To = None,
    order: Annotated[Literal["desc", "asc"], Query(description="desc: newest first (default).")] = "desc",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
) -> EntryPage:
    flt = _filter(
        user,
        actor=actor,
        unit=unit,
        subject=subject,
        types=types,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    after = None if cursor is None else _decode_cursor(cursor, order)
    rows = await repo.page(uow.session, flt, after=after, descending=order == "desc", limit=limit + 1)
    items = [EntryOut.from_row(row) for row in rows[:limit]]
    next_cursor = _encode_cursor(items[-1].sequence, order) if len(rows) > limit else None
    return EntryPage(items=items, next_cursor=next_cursor, limit=limit)


@router.get(
    "/entries/export",
    summary="Export audit entries as CSV (streamed)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with BOM; see the service docs."},
        **problem_responses(403, 422),
    },
)
async def export_entries(
    request: Request,
    user: User,
    actor: Actor = None,
    unit: Unit = None,
    subject: Subject = None,
    types: Types = None,
    occurred_from: From = None,
    occurred_to: To = None,
) -> StreamingResponse:
    flt = _filter(
        user,
        actor=actor,
        unit=unit,
        subject=subject,
        types=types,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    runtime = runtime_of(request)
    filters = {k: v for k, v in request.query_params.multi_items()}
    if types and len(types) > 1:
        filters["type"] = ",".join(types)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        stream_csv(
            runtime.database,
            flt,
            actor=user.actor,
            filters=filters,
            source=runtime.source,
            correlation_id=correlation_id_var.get(),
            chunk=_settings(request).stream_chunk_rows,
        ),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-entries-{stamp}.csv"'},
    )


@router.get("/entries/{sequence}", summary="One audit entry", responses=problem_responses(403, 404))
async def get_entry(
    sequence: Annotated[int, Path(ge=1, le=MAX_SEQUENCE, description="The entry's position in the chain.")],
    user: User,
    uow: UoW,
) -> EntryOut:
    scope = _reader_scope(user)
    row = await repo.get(uow.session, sequence)
    if row is None or (scope is not None and row.unit_code != scope):
        raise NotFound("No such audit entry.")
    return EntryOut.from_row(row)


@router.get(
    "/seal",
    summary="Where a fact sits in the chain (sequence and hashes, no content), for printed records",
    description="The newest entry about `subject` of one of the given event types (and, with `data=field:value`, "
    "whose event data has that value at its top level, e.g. `data=movement_id:<uuid>`). Readers of the "
    "log and QLCL officers may ask; a unit account only about its own unit's entries. 404 `seal_not_found`: "
    "not recorded (yet: events reach the log a moment after the action).",
    responses=problem_responses(403, 404, 422),
)
async def get_seal(
    user: User,
    uow: UoW,
    subject: Annotated[str, Query(min_length=1, max_length=200, description="Subject of the fact.")],
    types: Annotated[
        list[Annotated[str, Query(pattern=r"^[a-z][a-z0-9_.]*$", max_length=100)]],
        Query(alias="type", min_length=1, max_length=10, description="Event type; repeat for several."),
    ],
    data: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z][a-z0-9_]{0,39}:.{1,200}$",
            description="`field:value`: a top-level field of the event data and its value (`movement_id:<uuid>`).",
        ),
    ] = None,
) -> SealOut:
    user.require(*SEAL_READERS)
    scope = None if user.has_any((*VERIFIERS, Role.QLCL_OFFICER)) else _reader_scope(user)
    field, _, value = (data or "").partition(":")
    match = (field, value) if data else None
    row = await repo.newest_about(uow.session, subject=subject, types=tuple(types), data=match, scope_unit=scope)
    if row is None:
        raise NotFound("This fact is not in the audit log (yet).", code="seal_not_found")
    return SealOut.from_row(row)


@router.get("/verify", summary="Recompute the hash chain (whole or a range)", responses=problem_responses(403, 422))
async def verify_entries(
    request: Request,
    user: User,
    from_sequence: Annotated[int, Query(ge=1, le=MAX_SEQUENCE, description="First sequence to verify.")] = 1,
    to_sequence: Annotated[
        int | None, Query(ge=1, le=MAX_SEQUENCE, description="Last sequence (default: the newest).")
    ] = None,
    checkpoint_sequence: Annotated[
        int | None,
        Query(ge=0, le=MAX_SEQUENCE, description="A published checkpoint's latest_sequence, to check against."),
    ] = None,
    checkpoint_hash: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{64}$", description="That checkpoint's latest_hash.")
    ] = None,
) -> VerifyOut:
    user.require(*VERIFIERS)
    if to_sequence is not None and to_sequence < from_sequence:
        raise Unprocessable("to_sequence must not be before from_sequence.", code="invalid_range")
    if (checkpoint_sequence is None) != (checkpoint_hash is None):
        raise Unprocessable("Give both checkpoint_sequence and checkpoint_hash.", code="invalid_checkpoint")
    checkpoint = None
    if checkpoint_sequence is not None and checkpoint_hash is not None:
        checkpoint = Checkpoint(
            sequence=checkpoint_sequence, hash=checkpoint_hash, count=checkpoint_sequence, time=datetime.now(UTC)
        )
    try:
        report = await verify_chain(
            runtime_of(request).database,
            first=from_sequence,
            last=to_sequence,
            checkpoint=checkpoint,
            chunk=_settings(request).stream_chunk_rows,
        )
    except ValueError as exc:  # RangeBeyondHead is a domain error: the kit answers it (api/errors.py)
        raise Unprocessable(str(exc), code="invalid_checkpoint") from exc
    result = report.result
    return VerifyOut(
        ok=result.ok,
        first_broken_sequence=result.first_broken_sequence,
        reason=VerifyOut.reason_of(result),
        detail=result.detail,
        checked_count=result.checked_count,
        from_sequence=report.first,
        to_sequence=report.last,
        last_sequence=result.last_sequence,
        last_hash=result.last_hash,
        head=HeadOut(sequence=report.head.sequence, hash=report.head.hash),
        checkpoint=None if checkpoint is None else HeadOut(sequence=checkpoint.sequence, hash=checkpoint.hash),
        verified_at=report.verified_at,
    )
