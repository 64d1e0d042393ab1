"""Domain errors → problem documents, in one place.

Every ``InventoryError`` keeps its stable ``code`` and its HTTP status (``http_status``: 422 malformed,
409 conflicts with the stock, 403 a role that may not do this) and its JSON details (the offending serial
range, form type, state...) become extra members of the problem document:

================================  ======  ==========================================================
code                              status  when
================================  ======  ==========================================================
range_reversed / range_invalid    422     last < first / negative or too large
serial_format                     422     serial outside the form type's digits / wrong prefix
duplicate_serials                 422     a serial named twice in one request
form_type_invalid                 422     a form type field is not valid
form_type_unknown                 422     a body names a form type that does not exist
form_type_inactive                409     a print batch for an inactive (obsolete) form type
form_type_exists                  409     POST /form-types with an existing code
print_batch_overlap               409     the batch reuses printed serials (``conflict`` range)
document_required                 422     lose/destroy without its document, any movement without one
register_entries_invalid          422     use without entry numbers, or entries on another kind
duplicate_register_entries        422     an entry number twice in one request
register_entry_used               409     an entry number the unit already used this year
reason_not_allowed                422     a ledger reason the movement does not take
serials_not_held                  409     a serial not held by the caller (``serials`` names it)
serials_wrong_state               409     a held serial in a state the movement does not take
movement_forbidden                403     the role may not do this movement on this custody
request_empty                     422     no serials
period_invalid                    422     report period start not before its end
================================  ======  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from phoi_kit.errors import Conflict, Forbidden, NotFound, Problem, Unprocessable
from phoi_kit.logging import get_logger

from phoi_inventory.domain import InvariantViolationError, InventoryError

log = get_logger(__name__)

_BY_STATUS: dict[int, type[Problem]] = {403: Forbidden, 404: NotFound, 409: Conflict, 422: Unprocessable}


def problem_for(exc: InventoryError) -> Problem:
    if isinstance(exc, InvariantViolationError):
        log.error("inventory invariant violated", reason=exc.reason)
        return Problem("Something went wrong on our side. It has been logged.", code="internal_error", status=500)
    kind = _BY_STATUS.get(exc.http_status, Problem)
    return kind(exc.detail, code=exc.code, status=exc.http_status, **exc.details())


class DomainErrorRoute(APIRoute):
    """Routes whose domain errors become problem documents (the kit renders ``Problem``s)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def translating(request: Request) -> Response:
            try:
                return await handler(request)
            except InventoryError as exc:
                raise problem_for(exc) from exc

        return translating
