"""Domain errors → HTTP statuses: the one place where the identity service's errors get theirs.

The kit renders them (``ServiceSpec(error_map=ERROR_MAP)``): the error's ``code``, its message as the
``detail`` and its details as extra members; a 503 also says ``Retry-After``.
"""

from __future__ import annotations

from phoi_kit.errors import ErrorMap

from phoi_identity.domain.errors import (
    ConflictError,
    IdentityError,
    KeycloakFailed,
    KeycloakUnavailable,
    NotFoundError,
    RateLimited,
    VersionMismatch,
    VersionRequired,
)

ERROR_MAP: ErrorMap = {
    IdentityError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    VersionMismatch: 412,
    VersionRequired: 428,
    KeycloakUnavailable: 503,
    KeycloakFailed: 502,
    RateLimited: 429,
}
