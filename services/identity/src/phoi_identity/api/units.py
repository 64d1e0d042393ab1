"""/api/v1/units — the directory of units. qlcl_admin manages; everyone reads; a unit sees itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from phoi_kit.app import UoW, User
from phoi_kit.auth import Role
from phoi_kit.openapi import problem_responses
from phoi_kit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, encode_cursor, read_cursor
from phoi_kit.versioning import IfMatch, IfMatchRequired, IfMatchRequiredByService, set_etag

from phoi_identity.adapters import units as repo
from phoi_identity.api.deps import CHANGE_STATUSES, DIRECTORY_READERS, Ctx
from phoi_identity.api.deps import unit_scope as scope_of
from phoi_identity.api.schemas import OptionalReasonIn, ReasonIn, UnitIn, UnitOut, UnitPatch
from phoi_identity.domain.units import normalise_code
from phoi_identity.service import units as service

router = APIRouter(prefix="/units", tags=["units"])


@router.get("", summary="List units (a unit account sees its own unit only)", responses=problem_responses(400, 403))
async def list_units(
    user: User,
    uow: UoW,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    kind: str | None = None,
    parent_code: str | None = None,
) -> Page[UnitOut]:
    user.require(*DIRECTORY_READERS)
    size = limit
    position = read_cursor(cursor, str)
    after = position[0] if position else None
    rows = await repo.page(
        uow.session,
        limit=size + 1,
        after_code=after,
        only_code=scope_of(user),
        status=status_filter,
        kind=kind,
        parent_code=normalise_code(parent_code) if parent_code else None,
    )
    more = len(rows) > size
    rows = rows[:size]
    return Page[UnitOut](
        items=[UnitOut.of(r) for r in rows], next_cursor=encode_cursor(rows[-1].code) if more else None
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a unit (409 unit_exists if the code is taken)",
    responses=problem_responses(403, 404, 409, 422),
)
async def create_unit(body: UnitIn, user: User, uow: UoW, response: Response) -> UnitOut:
    user.require(Role.QLCL_ADMIN)
    head = body.head
    unit = await service.create(
        uow,
        service.NewUnit(
            code=body.code,
            name=body.name,
            kind=body.kind,
            name_en=body.name_en,
            province=body.province,
            parent_code=body.parent_code,
            head_name=head.name if head else None,
            head_position=head.position if head else None,
            head_contact=head.contact if head else None,
        ),
    )
    response.headers["Location"] = f"/api/v1/units/{unit.code}"
    set_etag(response, unit.version)
    return UnitOut.of(unit)


@router.get("/{code}", summary="One unit", responses=problem_responses(403, 404))
async def get_unit(code: str, user: User, uow: UoW, response: Response) -> UnitOut:
    user.require(*DIRECTORY_READERS)
    user.ensure_unit_scope(normalise_code(code), what="unit")
    unit = await service.load(uow, code)
    set_etag(response, unit.version)
    return UnitOut.of(unit)


@router.patch(
    "/{code}", summary="Change a unit's details (If-Match required)", responses=problem_responses(403, 404, 409, 422)
)
async def update_unit(
    code: str, body: UnitPatch, user: User, uow: UoW, response: Response, version: IfMatchRequired
) -> UnitOut:
    user.require(Role.QLCL_ADMIN)
    unit = await service.update(uow, code, body.requested(), version)
    set_etag(response, unit.version)
    return UnitOut.of(unit)


@router.post(
    "/{code}/deactivate",
    summary="Deactivate a unit; its accounts are disabled (If-Match required; never the issuer, QLCL)",
    responses=problem_responses(
        *CHANGE_STATUSES,
        notes={409: "QLCL cannot be deactivated (`issuer_unit_protected`), or the unit is inactive already."},
    ),
)
async def deactivate_unit(
    code: str, body: ReasonIn, user: User, uow: UoW, ctx: Ctx, response: Response, version: IfMatchRequiredByService
) -> UnitOut:
    user.require(Role.QLCL_ADMIN)
    unit = await service.deactivate(uow, ctx, code, body.reason, version)
    set_etag(response, unit.version)
    return UnitOut.of(unit)


@router.post(
    "/{code}/reactivate",
    summary="Reactivate a unit (issue it a new unit account afterwards)",
    responses=problem_responses(403, 404, 409, 422),
)
async def reactivate_unit(
    code: str, user: User, uow: UoW, response: Response, version: IfMatch, body: OptionalReasonIn | None = None
) -> UnitOut:
    user.require(Role.QLCL_ADMIN)
    unit = await service.reactivate(uow, code, body.reason if body else None, version)
    set_etag(response, unit.version)
    return UnitOut.of(unit)
