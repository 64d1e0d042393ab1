"""Access incidents (Decision 2699 Article 8.5): the software cannot be reached, or an account takeover
is suspected. A suspected takeover of a named account locks it at once; QLCL resolves the incident.

Someone who cannot sign in reports from the public page: such a report changes nothing but the
incident list (an anonymous caller must not be able to lock anyone out), is rate-limited per address
and in all, and gets a reference number to quote when QLCL calls back."""

from __future__ import annotations

import math
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
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


# What the public page may report (no "other": that is for signed-in users).
PUBLIC_KIND_ALIASES: Mapping[str, IncidentKind] = {
    "cannot_access": IncidentKind.UNREACHABLE,
    "unreachable": IncidentKind.UNREACHABLE,
    "suspected_takeover": IncidentKind.SUSPECTED_TAKEOVER,
    "suspected_compromise": IncidentKind.SUSPECTED_TAKEOVER,
}

#: The rate limits count public reports over this sliding window.
PUBLIC_REPORT_WINDOW = timedelta(hours=1)

# Reference numbers: no 0/O, 1/I/L, so that one read out on the phone is not misheard.
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# Bidirectional embeddings, overrides and isolates: they make a text display other than it reads.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset("\t\n\r")


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


def parse_public_kind(value: str) -> IncidentKind:
    kind = PUBLIC_KIND_ALIASES.get(value.strip().lower())
    if kind is None:
        raise ValueError(f"unknown kind {value!r}; expected cannot_access or suspected_takeover")
    return kind


def control_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character a reporter's text may not hold, as ``U+XXXX``; None when it is clean.

    Control characters (NUL breaks PostgreSQL text), lone surrogates (not encodable) and bidirectional
    controls are refused; a multi-line text may hold tabs and line breaks."""
    for char in value:
        if multiline and char in _LINE_BREAKS:
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS:
            return f"U+{ord(char):04X}"
    return None


def new_reference() -> str:
    """A reference number for a public report, e.g. ``TN-7K4Q-M2XC`` (TN: tiếp nhận, received)."""
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"TN-{chars[:4]}-{chars[4:]}"


def retry_after(
    newest: Sequence[datetime], limit: int, at: datetime, window: timedelta = PUBLIC_REPORT_WINDOW
) -> int | None:
    """Seconds until one more report is allowed, or None when it is allowed now.

    ``newest``: the times of the newest reports inside the window (at most ``limit`` of them are
    needed), newest first. With ``limit`` of them in the window, one more is allowed once the
    ``limit``-th newest has left it."""
    if len(newest) < limit:
        return None
    frees_at = newest[limit - 1] + window
    return max(1, math.ceil((frees_at - at).total_seconds()))


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
