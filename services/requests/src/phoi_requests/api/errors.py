"""Domain errors → HTTP statuses, in one place, registered with the kit (``ServiceSpec(error_map=...)``).
The kit renders them as problem documents: the domain's stable code is the ``code``, its message the
``detail``, its ``details()`` extra members.

============================  ======  =============================================================
error                         status  code
============================  ======  =============================================================
RequestNotFound               404     request.not_found (also for another unit's request)
UnknownAttachment (download)  404     request.unknown_attachment
ActionForbidden               403     request.forbidden
VersionConflict, StaleRequest 412     version_mismatch (the code every service answers a stale version with)
VersionRequired               428     if_match_required (no If-Match on a change)
IllegalTransition             409     request.illegal_transition (with current_state, action)
AllocationConflict            409     request.allocation_conflict
UnitInactive                  409     request.unit_inactive
RuleViolation subclasses      422     request.invalid_field, request.invalid_quantity, ... (with field)
other RequestDomainError      400     request.error
============================  ======  =============================================================
"""

from __future__ import annotations

from phoi_kit.errors import ErrorMap

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
    VersionRequired,
)

ERROR_MAP: ErrorMap = {
    RequestDomainError: 400,
    RequestNotFound: 404,
    ActionForbidden: 403,
    VersionConflict: 412,
    StaleRequest: 412,
    VersionRequired: 428,
    IllegalTransition: 409,
    AllocationConflict: 409,
    UnitInactive: 409,
    RuleViolation: 422,
}
