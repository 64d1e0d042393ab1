"""Typed errors of the identity domain and its application services.

Each error carries a stable machine ``code``, its message and ``details()`` (extra members of the problem
document). Its base class says what went wrong; ``api/errors.py`` (the one place) gives each an HTTP status:

=========================  ======  ==================================================================
base                       status  meaning
=========================  ======  ==================================================================
``NotFoundError``          404     no such unit / account / incident (or not visible to the caller)
``ConflictError``          409     the action clashes with the current state (duplicate, wrong state)
``IdentityError``          422     the input breaks a rule of the directory
``VersionMismatch``        412     ``If-Match`` names a version that is not the current one
``VersionRequired``        428     the change needs ``If-Match`` and none was sent
``KeycloakUnavailable``    503     Keycloak cannot be reached (after retries); nothing was changed
``KeycloakFailed``         502     Keycloak refused a call the service expected to succeed
``RateLimited``            429     too many public reports from one address (or in all); ``retry_after`` seconds
=========================  ======  ==================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class IdentityError(Exception):
    """An input that breaks a rule of the directory (unless a subclass says otherwise)."""

    code: ClassVar[str] = "identity_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self._details = details

    def details(self) -> Mapping[str, object]:
        return self._details


class NotFoundError(IdentityError):
    """No such thing, or not visible to the caller."""


class ConflictError(IdentityError):
    """The action clashes with the current state."""


# --- not found -------------------------------------------------------------------------------------
class UnitNotFound(NotFoundError):
    code = "unit_not_found"


class AccountNotFound(NotFoundError):
    code = "account_not_found"


class IncidentNotFound(NotFoundError):
    code = "incident_not_found"


# --- conflicts -------------------------------------------------------------------------------------
class UnitExists(ConflictError):
    code = "unit_exists"


class UnitInactive(ConflictError):
    code = "unit_inactive"


class UnitStateConflict(ConflictError):
    code = "unit_state_conflict"


class UnitAccountExists(ConflictError):
    code = "unit_account_exists"


class AccountExists(ConflictError):
    """The Keycloak user is already an account of the directory (adopting it twice)."""

    code = "account_exists"


class UsernameTaken(ConflictError):
    code = "username_taken"


class EmailTaken(ConflictError):
    code = "email_taken"


class AccountStateConflict(ConflictError):
    code = "account_state_conflict"


class IssuerUnitProtected(ConflictError):
    """The issuer (QLCL, the unit of kind ``qlcl``) cannot be deactivated: its accounts administer the system."""

    code = "issuer_unit_protected"


class LastAdministrator(ConflictError):
    """The change would leave no live ``qlcl_admin`` account: nobody could administer the system again."""

    code = "last_administrator"


class IncidentResolvedAlready(ConflictError):
    code = "incident_resolved"


class OpenIncident(ConflictError):
    """The account is locked because of an open incident: resolve the incident instead."""

    code = "incident_open"


# --- invalid input ---------------------------------------------------------------------------------
class InvalidAccount(IdentityError):
    code = "invalid_account"


class InvalidUnit(IdentityError):
    code = "invalid_unit"


class KeycloakUserNotFound(IdentityError):
    code = "keycloak_user_not_found"


class KeycloakUserMismatch(IdentityError):
    """An adopted Keycloak user's roles or unit disagree with what the request says."""

    code = "keycloak_user_mismatch"


class InvalidResolution(IdentityError):
    code = "invalid_resolution"


class PasswordRejected(IdentityError):
    code = "password_rejected"


# --- versions --------------------------------------------------------------------------------------
class VersionMismatch(IdentityError):
    code = "version_mismatch"


class VersionRequired(IdentityError):
    code = "if_match_required"


# --- Keycloak --------------------------------------------------------------------------------------
class KeycloakUnavailable(IdentityError):
    code = "keycloak_unavailable"


class KeycloakFailed(IdentityError):
    code = "keycloak_error"


# --- rate limits -----------------------------------------------------------------------------------
class RateLimited(IdentityError):
    """Too many public access reports; ``retry_after`` (seconds) says when one more is accepted."""

    code = "rate_limited"
