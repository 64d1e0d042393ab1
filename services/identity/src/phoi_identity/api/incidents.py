"""/api/v1/incidents — access incidents (Article 8.5).

Anyone signed in reports (a holder about their own account, a unit about its unit's, QLCL about any);
a suspected takeover of a named account locks it at once. qlcl_admin resolves. qlcl_admin and auditors
see every incident; a unit sees its unit's; anyone else sees what they reported. Reports from the
public page (``source: public``, see ``access_reports``) are seen by qlcl_admin and auditors only: the
account a report names may be in the wrong hands.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from phoi_contracts.events.identity import IncidentKind, IncidentSource
from phoi_kit.app import UoW, User
from phoi_kit.auth import CurrentUser, Role
from phoi_kit.openapi import problem_responses
from phoi_kit.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, encode_cursor, read_cursor
from phoi_kit.uow import UnitOfWork
from phoi_kit.versioning import IfMatch, set_etag

from phoi_identity.adapters import incidents as repo
from phoi_identity.api.deps import DIRECTORY_READERS, OVERSIGHT, Ctx, no_store
from phoi_identity.api.schemas import (
    AccountOut,
    IncidentIn,
    IncidentOut,
    IncidentReportedOut,
    IncidentResolvedOut,
    ResolveIn,
)
from phoi_identity.domain.errors import IncidentNotFound
from phoi_identity.models import IncidentRow
from phoi_identity.service import incidents as service

router = APIRouter(prefix="/incidents", tags=["incidents"])


def _visible(user: CurrentUser, incident: IncidentRow) -> bool:
    if user.has_any(OVERSIGHT):
        return True
    if incident.source == IncidentSource.PUBLIC:
        return False
    if user.is_unit and user.unit_code and user.unit_code in (incident.unit_code, incident.reported_by_unit):
        return True
    return incident.reported_by_user_id == user.user_id


async def _load_visible(uow: UnitOfWork, user: CurrentUser, incident_id: uuid.UUID) -> IncidentRow:
    incident = await repo.get(uow.session, incident_id)
    if incident is None or not _visible(user, incident):
        raise IncidentNotFound("No such incident.", incident_id=str(incident_id))
    return incident


@router.get("", summary="List incidents, newest first", responses=problem_responses(400, 403))
async def list_incidents(
    user: User,
    uow: UoW,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    kind: IncidentKind | None = None,
    account_id: uuid.UUID | None = None,
    unit_code: str | None = None,
    source: IncidentSource | None = None,
    reference: Annotated[str | None, Query(max_length=64, description="A public report's reference number.")] = None,
) -> Page[IncidentOut]:
    user.require(*DIRECTORY_READERS)
    size = limit
    before = read_cursor(cursor, datetime.fromisoformat, uuid.UUID)
    oversight = user.has_any(OVERSIGHT)
    rows = await repo.page(
        uow.session,
        limit=size + 1,
        before=(before[0], before[1]) if before else None,
        status=status_filter,
        kind=kind.value if kind else None,
        account_id=account_id,
        unit_code=unit_code.upper() if unit_code else None,
        source=source.value if source else None,
        reference=reference.strip().upper() if reference else None,
        visible_to_unit=(user.unit_code or "!") if (user.is_unit and not oversight) else None,
        reported_by=user.user_id if not (oversight or user.is_unit) else None,
    )
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = encode_cursor(rows[-1].reported_at.isoformat(), rows[-1].id) if more else None
    return Page[IncidentOut](items=[IncidentOut.of(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Report an access incident",
    responses=problem_responses(403, 404, 409, 422, 502, 503),
)
async def report_incident(body: IncidentIn, user: User, uow: UoW, ctx: Ctx, response: Response) -> IncidentReportedOut:
    user.require(*DIRECTORY_READERS)
    reported = await service.report(
        uow,
        ctx,
        user,
        service.Report(
            kind=body.kind,
            description=body.description,
            account_id=body.account_id,
            unit_code=body.unit_code,
            occurred_at=body.occurred_at,
        ),
    )
    response.headers["Location"] = f"/api/v1/incidents/{reported.incident.id}"
    set_etag(response, reported.incident.version)
    return IncidentReportedOut(**IncidentOut.fields_of(reported.incident), keycloak_synced=reported.keycloak_synced)


@router.get("/{incident_id}", summary="One incident", responses=problem_responses(403, 404))
async def get_incident(incident_id: uuid.UUID, user: User, uow: UoW, response: Response) -> IncidentOut:
    user.require(*DIRECTORY_READERS)
    incident = await _load_visible(uow, user, incident_id)
    set_etag(response, incident.version)
    return IncidentOut.of(incident)


@router.post(
    "/{incident_id}/resolve",
    summary="Resolve an incident with a note (qlcl_admin)",
    responses=problem_responses(403, 404, 409, 422, 502, 503),
)
async def resolve_incident(
    incident_id: uuid.UUID, body: ResolveIn, user: User, uow: UoW, ctx: Ctx, response: Response, version: IfMatch
) -> IncidentResolvedOut:
    user.require(Role.QLCL_ADMIN)
    no_store(response)
    incident, account, password = await service.resolve(uow, ctx, incident_id, body.action, body.resolution, version)
    set_etag(response, incident.version)
    return IncidentResolvedOut(
        **IncidentOut.fields_of(incident),
        account=AccountOut.of(account) if account else None,
        temporary_password=password,
    )
