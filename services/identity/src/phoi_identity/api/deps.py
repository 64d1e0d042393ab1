"""Dependencies and small helpers shared by the routers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from phoi_kit.auth import CurrentUser, Role
from phoi_kit.errors import BadRequest, PreconditionRequired
from phoi_kit.pagination import decode_cursor

from phoi_identity.service.context import IdentityContext

NO_STORE = "no-store"
_ETAG = re.compile(r'^(?:W/)?"?(\d+)"?$')


def context(request: Request) -> IdentityContext:
    ctx: IdentityContext = request.app.state.identity
    return ctx


Ctx = Annotated[IdentityContext, Depends(context)]


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() in ("", "*"):
        return None
    match = _ETAG.match(value.strip())
    if match is None:
        raise BadRequest('If-Match must be the ETag you read, e.g. "3".', code="invalid_if_match")
    return int(match.group(1))


def if_match(if_match: Annotated[str | None, Header(alias="If-Match")] = None) -> int | None:
    """Optional ``If-Match``: checked when sent."""
    return parse_if_match(if_match)


def if_match_required(if_match: Annotated[str | None, Header(alias="If-Match")] = None) -> int:
    version = parse_if_match(if_match)
    if version is None:
        raise PreconditionRequired("Send If-Match with the version (ETag) you read.")
    return version


IfMatch = Annotated[int | None, Depends(if_match)]
IfMatchRequired = Annotated[int, Depends(if_match_required)]


def etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def no_store(response: Response) -> None:
    """For bodies that carry a temporary password: no cache anywhere may keep them."""
    response.headers["Cache-Control"] = NO_STORE
    response.headers["Pragma"] = "no-cache"


def read_cursor(cursor: str | None, *kinds: Callable[[Any], Any]) -> tuple[Any, ...] | None:
    """The cursor's parts converted by `kinds` (None without a cursor); 400 ``invalid_cursor`` if they
    do not convert (a cursor is opaque, but a client can still send anything)."""
    if not cursor:
        return None
    values = decode_cursor(cursor, len(kinds))
    try:
        return tuple(kind(value) for kind, value in zip(kinds, values, strict=True))
    except (TypeError, ValueError) as exc:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from exc


# Who reads what.
DIRECTORY_READERS = (Role.QLCL_ADMIN, Role.QLCL_OFFICER, Role.AUDITOR, Role.UNIT_ACCOUNT)
ACCOUNT_READERS = (Role.QLCL_ADMIN, Role.AUDITOR, Role.UNIT_ACCOUNT)
OVERSIGHT = (Role.QLCL_ADMIN, Role.AUDITOR)


def unit_scope(user: CurrentUser) -> str | None:
    """The only unit a unit account may see; None for everyone else."""
    return (user.unit_code or "!") if user.is_unit else None  # "!" is no unit code
