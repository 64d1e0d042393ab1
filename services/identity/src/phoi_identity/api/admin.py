"""/api/v1/reconcile — run reconciliation with Keycloak now (it also runs every
``IDENTITY_RECONCILE_SECONDS``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from phoi_kit.app import User
from phoi_kit.auth import Role
from phoi_kit.openapi import problem_responses

from phoi_identity.api.deps import Ctx
from phoi_identity.service import reconcile as service

router = APIRouter(tags=["reconciliation"])


@router.post(
    "/reconcile",
    summary="Reconcile the directory with Keycloak now; returns what was repaired",
    responses=problem_responses(403, 502, 503),
)
async def reconcile(user: User, ctx: Ctx) -> dict[str, Any]:
    user.require(Role.QLCL_ADMIN)
    return (await service.reconcile(ctx)).as_dict()
