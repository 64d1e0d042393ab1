"""Domain errors → problem documents, in one place. The domain's stable codes are kept as the `code`.

============================  ======  =============================================================
error                         status  code
============================  ======  =============================================================
RequestNotFound               404     request.not_found (also for another unit's request)
UnknownAttachment (download)  404     request.unknown_attachment
ActionForbidden               403     request.forbidden
VersionConflict, StaleRequest 412     request.version_conflict
IllegalTransition             409     request.illegal_transition (with current_state, action)
AllocationConflict            409     request.allocation_conflict
UnitInactive                  409     request.unit_inactive
RuleViolation subclasses      422     request.invalid_field, request.invalid_quantity, ... (with field)
============================  ======  =============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from phoi_kit.errors import Conflict, Forbidden, NotFound, PreconditionFailed, Problem, Unprocessable

from phoi_requests.adapters.requests import StaleRequest
from phoi_requests.domain import (
    ActionForbidden,
    AllocationConflict,
    IllegalTransition,
    RequestDomainError,
    RequestNotFound,
    RuleViolation,
    UnitInactive,
    VersionConflict,
)

_STATUS: tuple[tuple[type[RequestDomainError], type[Problem]], ...] = (
    (RequestNotFound, NotFound),
    (ActionForbidden, Forbidden),
    (VersionConflict, PreconditionFailed),
    (IllegalTransition, Conflict),
    (AllocationConflict, Conflict),
    (UnitInactive, Conflict),
    (RuleViolation, Unprocessable),
)


def problem_for(exc: RequestDomainError) -> Problem:
    body = exc.to_dict()
    code = str(body.pop("code"))
    detail = str(body.pop("detail"))
    for error, problem in _STATUS:
        if isinstance(exc, error):
            return problem(detail, code=code, **body)
    return Problem(detail, code=code, status=400, **body)


def stale_problem(exc: StaleRequest) -> Problem:
    return PreconditionFailed(
        "The request changed while you were acting on it; read it again.",
        code=VersionConflict.code,
        expected_version=exc.loaded_version,
    )


class DomainErrorRoute(APIRoute):
    """Routes whose domain errors become problem documents (the kit renders `Problem`s, and records
    the 403s as access-denied events)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def translating(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestDomainError as exc:
                raise problem_for(exc) from exc
            except StaleRequest as exc:
                raise stale_problem(exc) from exc

        return translating
