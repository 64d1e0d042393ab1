"""Accounts (Decision 2699 Article 8): who may hold which kind of account, the account's states and
how they follow from Keycloak's view of the user.

States mirror Keycloak:

- ``pending_first_login``: enabled, with the ``UPDATE_PASSWORD`` required action (a temporary password
  was issued: creation, handover, reset) — Article 8.2 and 8.4 "change the password immediately";
- ``active``: enabled, password set by the holder;
- ``locked``: disabled in Keycloak, for now (an administrator's lock, a suspected takeover);
- ``disabled``: disabled for good (the unit was deactivated, or the Keycloak user disappeared).
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from enum import StrEnum

from phoi_contracts.events.identity import AccountKind, Role, UnitKind

from phoi_identity.domain.errors import AccountStateConflict, InvalidAccount, LastAdministrator

UPDATE_PASSWORD = "UPDATE_PASSWORD"  # noqa: S105 - Keycloak's required action, not a secret
PHOI_ROLES = frozenset(r.value for r in Role)
INDIVIDUAL_ROLES = frozenset({Role.QLCL_ADMIN, Role.QLCL_OFFICER, Role.AUDITOR})
# Keycloak lower-cases usernames; we accept what it would keep.
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,62}$")


class AccountStatus(StrEnum):
    PENDING_FIRST_LOGIN = "pending_first_login"
    ACTIVE = "active"
    LOCKED = "locked"
    DISABLED = "disabled"


LIVE = frozenset({AccountStatus.PENDING_FIRST_LOGIN, AccountStatus.ACTIVE})


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise InvalidAccount(
            "A username is 3 to 63 characters: letters, digits and . _ @ -, starting with a letter or digit.",
            fields=["username"],
        )
    return name


def default_username(kind: AccountKind, unit_code: str | None) -> str | None:
    """A unit account is named after its unit (``SGD-HN`` → ``sgd-hn``)."""
    if kind is AccountKind.UNIT and unit_code:
        return unit_code.lower()
    return None


def role_for(kind: AccountKind, role: Role | None) -> Role:
    """The realm role of a new account of `kind` (a unit account is always ``unit_account``)."""
    if kind is AccountKind.UNIT:
        if role not in (None, Role.UNIT_ACCOUNT):
            raise InvalidAccount("A unit account has the unit_account role.", fields=["role"])
        return Role.UNIT_ACCOUNT
    if role is None:
        raise InvalidAccount("Say which role the individual account has.", fields=["role"])
    if role not in INDIVIDUAL_ROLES:
        raise InvalidAccount("Individual accounts are for QLCL officials and auditors.", fields=["role"])
    return role


def check_unit(kind: AccountKind, role: Role, unit_code: str | None, unit_kind: UnitKind | None) -> None:
    """Article 8.1–8.3: unit accounts belong to receiving units; individual accounts to QLCL officials
    (auditors may come from elsewhere)."""
    if kind is AccountKind.UNIT:
        if unit_code is None or unit_kind is None:
            raise InvalidAccount("A unit account needs its unit.", fields=["unit_code"])
        if unit_kind is UnitKind.QLCL:
            raise InvalidAccount(
                "QLCL has individual accounts for its officials, not a unit account.", fields=["unit_code"]
            )
        return
    if role in (Role.QLCL_ADMIN, Role.QLCL_OFFICER) and unit_kind not in (None, UnitKind.QLCL):
        raise InvalidAccount("QLCL roles are for QLCL officials.", fields=["unit_code"])


def kind_of_role(role: Role) -> AccountKind:
    return AccountKind.UNIT if role is Role.UNIT_ACCOUNT else AccountKind.INDIVIDUAL


def single_phoi_role(realm_roles: set[str]) -> Role:
    """The one phoi role a Keycloak user has (adoption); several or none is an error."""
    found = sorted(realm_roles & PHOI_ROLES)
    if len(found) != 1:
        raise InvalidAccount(
            "The Keycloak user must have exactly one of the roles " + ", ".join(sorted(PHOI_ROLES)) + ".",
            roles=found,
        )
    return Role(found[0])


def split_name(full_name: str) -> tuple[str, str]:
    """Vietnamese order: family and middle names first, given name last.
    Returns (first name, last name) as Keycloak names them: ``Nguyễn Văn An`` → (``An``, ``Nguyễn Văn``)."""
    parts = full_name.split()
    if len(parts) <= 1:
        return full_name.strip(), ""
    return parts[-1], " ".join(parts[:-1])


def join_name(first: str | None, last: str | None) -> str | None:
    name = " ".join(p for p in (last, first) if p)
    return name or None


def status_from_keycloak(enabled: bool, required_actions: list[str], *, locked_means: AccountStatus) -> AccountStatus:
    """The state Keycloak shows. A disabled user is `locked_means` (locked unless we know better)."""
    if not enabled:
        return locked_means
    if UPDATE_PASSWORD in required_actions:
        return AccountStatus.PENDING_FIRST_LOGIN
    return AccountStatus.ACTIVE


# --- transitions -----------------------------------------------------------------------------------
def can_lock(status: AccountStatus) -> None:
    if status is AccountStatus.LOCKED:
        raise AccountStateConflict("The account is already locked.", status=status.value)
    if status is AccountStatus.DISABLED:
        raise AccountStateConflict("The account is disabled.", status=status.value)


def can_unlock(status: AccountStatus) -> None:
    if status is not AccountStatus.LOCKED:
        raise AccountStateConflict("Only a locked account can be unlocked.", status=status.value)


def can_hand_over(status: AccountStatus) -> None:
    if status not in LIVE:
        raise AccountStateConflict(
            "A locked or disabled account cannot be handed over; resolve the lock first.", status=status.value
        )


def can_disable(status: AccountStatus) -> None:
    if status is AccountStatus.DISABLED:
        raise AccountStateConflict("The account is already disabled.", status=status.value)


# --- the last administrator ----------------------------------------------------------------------
def leaves_no_administrator(role: Role, status: AccountStatus, other_live_administrators: int) -> bool:
    """Whether taking this account out of service (lock, disable) would leave no live ``qlcl_admin``:
    nobody could then unlock, issue or resolve anything through the API. A live account is one its
    holder can sign in to (a pending one's temporary password was given to the administrator who
    issued it). A handover keeps the account live, so it is not counted as taking it away."""
    return role is Role.QLCL_ADMIN and status in LIVE and other_live_administrators == 0


def keep_an_administrator(role: Role, status: AccountStatus, other_live_administrators: int) -> None:
    if leaves_no_administrator(role, status, other_live_administrators):
        raise LastAdministrator(
            "This is the last administrator account that can sign in; issue another administrator first.",
            role=role.value,
        )


# --- reconciliation with Keycloak ------------------------------------------------------------------
@dataclass(frozen=True)
class KeycloakState:
    enabled: bool
    required_actions: tuple[str, ...]


class Repair(StrEnum):
    NOTHING = "nothing"
    MARK_DISABLED = "mark_disabled"  # the Keycloak user is gone: the account is dead
    MARK_LOCKED = "mark_locked"  # disabled in Keycloak behind our back: mirror it (and revoke tokens)
    MARK_PENDING = "mark_pending"  # a temporary password was set behind our back
    MARK_ACTIVE = "mark_active"  # the holder changed the temporary password
    DISABLE_IN_KEYCLOAK = "disable_in_keycloak"  # enabled behind our back while locked here: re-lock


def reconcile(status: AccountStatus, keycloak: KeycloakState | None) -> Repair:
    """What to do when the directory says `status` and Keycloak shows `keycloak` (None: no such user).

    Keycloak is the truth for credentials (pending/active) and for a user being disabled. A lock is a
    security decision of this service, made with a note and an event: a user re-enabled directly in
    Keycloak while locked here is disabled again (unlocking goes through the API)."""
    if keycloak is None:
        return Repair.NOTHING if status is AccountStatus.DISABLED else Repair.MARK_DISABLED
    if status in (AccountStatus.LOCKED, AccountStatus.DISABLED):
        return Repair.DISABLE_IN_KEYCLOAK if keycloak.enabled else Repair.NOTHING
    if not keycloak.enabled:
        return Repair.MARK_LOCKED
    pending = UPDATE_PASSWORD in keycloak.required_actions
    if status is AccountStatus.ACTIVE and pending:
        return Repair.MARK_PENDING
    if status is AccountStatus.PENDING_FIRST_LOGIN and not pending:
        return Repair.MARK_ACTIVE
    return Repair.NOTHING


# --- temporary passwords ---------------------------------------------------------------------------
_SYMBOLS = "!@#$%^&*-_=+?"
_ALPHABET = string.ascii_letters + string.digits + _SYMBOLS


def temporary_password(username: str, length: int = 16) -> str:
    """A random temporary password: every character class, never the username (realm policy:
    ``length(12) and notUsername``). Shown once to the administrator; never stored or logged."""
    if length < 12:
        raise ValueError("temporary passwords are at least 12 characters")
    while True:
        chars = [
            secrets.choice(string.ascii_lowercase),
            secrets.choice(string.ascii_uppercase),
            secrets.choice(string.digits),
            secrets.choice(_SYMBOLS),
            *(secrets.choice(_ALPHABET) for _ in range(length - 4)),
        ]
        # Fisher-Yates with a CSPRNG, so the class positions are not predictable.
        for i in range(len(chars) - 1, 0, -1):
            j = secrets.randbelow(i + 1)
            chars[i], chars[j] = chars[j], chars[i]
        password = "".join(chars)
        if password.lower() != username.lower():
            return password
