"""HTTP API of the identity service (/api/v1)."""

from fastapi import APIRouter

from phoi_identity.api import access_reports, accounts, admin, incidents, sign_in, units

router = APIRouter(prefix="/api/v1")
for _module in (units, accounts, incidents, access_reports, sign_in, admin):
    router.include_router(_module.router)
