"""Typed errors of the identity domain and its application services.

Each error carries a stable machine ``code`` and a ``kind`` the API layer maps to an HTTP status
(``api/errors.py``, the one place):

=============  ======  =============================================================================
kind           status  meaning
=============  ======  =============================================================================
not_found      404     no such unit / account / incident (or not visible to the caller)
conflict       409     the action clashes with the current state (duplicate, wrong state)
invalid        422     the input breaks a rule of the directory
precondition   412     ``If-Match`` names a version that is not the current one
unavailable    503     Keycloak cannot be reached (after retries); nothing was changed
upstream       502     Keycloak refused a call the service expected to succeed
rate_limited   429     too many public reports from one address (or in all); ``retry_after`` seconds
=============  ======  =============================================================================
"""

from __future__ import annotations

from typing import Any, ClassVar


class IdentityError(Exception):
    code: ClassVar[str] = "identity_error"
    kind: ClassVar[str] = "invalid"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


# --- not found -------------------------------------------------------------------------------------
class UnitNotFound(IdentityError):
    code = "unit_not_found"
    kind = "not_found"


class AccountNotFound(IdentityError):
    code = "account_not_found"
    kind = "not_found"


class IncidentNotFound(IdentityError):
    code = "incident_not_found"
    kind = "not_found"


# --- conflicts -------------------------------------------------------------------------------------
class UnitExists(IdentityError):
    code = "unit_exists"
    kind = "conflict"


class UnitInactive(IdentityError):
    code = "unit_inactive"
    kind = "conflict"


class UnitStateConflict(IdentityError):
    code = "unit_state_conflict"
    kind = "conflict"


class UnitAccountExists(IdentityError):
    code = "unit_account_exists"
    kind = "conflict"


class AccountExists(IdentityError):
    """The Keycloak user is already an account of the directory (adopting it twice)."""

    code = "account_exists"
    kind = "conflict"


class UsernameTaken(IdentityError):
    code = "username_taken"
    kind = "conflict"


class EmailTaken(IdentityError):
    code = "email_taken"
    kind = "conflict"


class AccountStateConflict(IdentityError):
    code = "account_state_conflict"
    kind = "conflict"


class IncidentResolvedAlready(IdentityError):
    code = "incident_resolved"
    kind = "conflict"


class OpenIncident(IdentityError):
    """The account is locked because of an open incident: resolve the incident instead."""

    code = "incident_open"
    kind = "conflict"


# --- invalid input ---------------------------------------------------------------------------------
class InvalidAccount(IdentityError):
    code = "invalid_account"
    kind = "invalid"


class InvalidUnit(IdentityError):
    code = "invalid_unit"
    kind = "invalid"


class KeycloakUserNotFound(IdentityError):
    code = "keycloak_user_not_found"
    kind = "invalid"


class KeycloakUserMismatch(IdentityError):
    """An adopted Keycloak user's roles or unit disagree with what the request says."""

    code = "keycloak_user_mismatch"
    kind = "invalid"


class InvalidResolution(IdentityError):
    code = "invalid_resolution"
    kind = "invalid"


class PasswordRejected(IdentityError):
    code = "password_rejected"
    kind = "invalid"


# --- versions --------------------------------------------------------------------------------------
class VersionMismatch(IdentityError):
    code = "version_mismatch"
    kind = "precondition"


# --- Keycloak --------------------------------------------------------------------------------------
class KeycloakUnavailable(IdentityError):
    code = "keycloak_unavailable"
    kind = "unavailable"


class KeycloakFailed(IdentityError):
    code = "keycloak_error"
    kind = "upstream"


# --- rate limits -----------------------------------------------------------------------------------
class RateLimited(IdentityError):
    """Too many public access reports; ``retry_after`` (seconds) says when one more is accepted."""

    code = "rate_limited"
    kind = "rate_limited"
