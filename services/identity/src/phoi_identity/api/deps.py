"""Dependencies and small helpers shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from phoi_kit.auth import CurrentUser, Role

from phoi_identity.service.context import IdentityContext

NO_STORE = "no-store"


def context(request: Request) -> IdentityContext:
    ctx: IdentityContext = request.app.state.identity
    return ctx


Ctx = Annotated[IdentityContext, Depends(context)]


def no_store(response: Response) -> None:
    """For bodies that carry a temporary password: no cache anywhere may keep them."""
    response.headers["Cache-Control"] = NO_STORE
    response.headers["Pragma"] = "no-cache"


# Who reads what.
DIRECTORY_READERS = (Role.QLCL_ADMIN, Role.QLCL_OFFICER, Role.AUDITOR, Role.UNIT_ACCOUNT)
ACCOUNT_READERS = (Role.QLCL_ADMIN, Role.AUDITOR, Role.UNIT_ACCOUNT)
OVERSIGHT = (Role.QLCL_ADMIN, Role.AUDITOR)


def unit_scope(user: CurrentUser) -> str | None:
    """The only unit a unit account may see; None for everyone else."""
    return (user.unit_code or "!") if user.is_unit else None  # "!" is no unit code
