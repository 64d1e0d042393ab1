"""Access incidents (Decision 2699 Article 8.5): the software cannot be reached, or an account takeover
is suspected. A suspected takeover of a named account locks it at once; QLCL resolves the incident."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from phoi_contracts.events.identity import IncidentKind

from phoi_identity.domain.accounts import AccountStatus
from phoi_identity.domain.errors import IncidentResolvedAlready, InvalidResolution

# The contract's kinds, and the words people also use for them.
KIND_ALIASES: Mapping[str, IncidentKind] = {
    "suspected_takeover": IncidentKind.SUSPECTED_TAKEOVER,
    "suspected_compromise": IncidentKind.SUSPECTED_TAKEOVER,
    "unreachable": IncidentKind.UNREACHABLE,
    "cannot_access": IncidentKind.UNREACHABLE,
    "other": IncidentKind.OTHER,
}


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ResolutionAction(StrEnum):
    RESET_PASSWORD = "reset_password"  # new temporary password (holder must change it) and unlock  # noqa: S105
    KEEP_LOCKED = "keep_locked"  # the account stays locked (e.g. until a handover)
    NONE = "none"  # nothing to do on the account


def parse_kind(value: str) -> IncidentKind:
    kind = KIND_ALIASES.get(value.strip().lower())
    if kind is None:
        raise ValueError(f"unknown incident kind {value!r}; expected one of {sorted(KIND_ALIASES)}")
    return kind


def locks_account(kind: IncidentKind, has_account: bool, account_status: AccountStatus | None) -> bool:
    """A suspected takeover of a live account locks it at once."""
    return (
        kind is IncidentKind.SUSPECTED_TAKEOVER
        and has_account
        and account_status in (AccountStatus.ACTIVE, AccountStatus.PENDING_FIRST_LOGIN)
    )


def check_resolution(
    status: IncidentStatus, action: ResolutionAction, has_account: bool, account_status: AccountStatus | None
) -> None:
    if status is IncidentStatus.RESOLVED:
        raise IncidentResolvedAlready("The incident is already resolved.")
    if action is ResolutionAction.RESET_PASSWORD:
        if not has_account:
            raise InvalidResolution("A password can be reset only for an incident about an account.")
        if account_status is AccountStatus.DISABLED:
            raise InvalidResolution("The account is disabled; it cannot be reset.")
    if action is ResolutionAction.KEEP_LOCKED and account_status is not AccountStatus.LOCKED:
        raise InvalidResolution("The account is not locked.")
    if action is ResolutionAction.NONE and account_status is AccountStatus.LOCKED:
        raise InvalidResolution("The account is locked: choose reset_password (and unlock) or keep_locked.")
