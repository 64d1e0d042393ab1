"""Values of the request domain: roles, actors, statuses, actions, lines, ranges, attachments, history."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final

from phoi_contracts.events.identity import Role as Role  # the realm roles: one enum for the whole system
from phoi_kit.vietnam import VIETNAM_TZ

from phoi_requests.domain.errors import InvalidField, InvalidQuantity
from phoi_requests.domain.signatures import LetterCheck

# Text limits (characters, after stripping surrounding whitespace).
MAX_REASON_LENGTH = 2000
MAX_JUSTIFICATION_LENGTH = 4000
MAX_CODE_LENGTH = 64  # unit codes and form type codes
MAX_EXAM_SESSION_LENGTH = 200
MAX_FILENAME_LENGTH = 255
# Sanity caps; a province never needs more than a few hundred thousand blanks of one type.
MAX_LINE_QUANTITY = 10_000_000
MAX_LINES = 50
MAX_ATTACHMENTS = 20
# Largest serial number: 2**53 - 1, exact in every JSON parser and in PostgreSQL int8 (as in the contracts).
MAX_SERIAL = 2**53 - 1

_ACADEMIC_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

SYSTEM_ROLE: Final = "system"
"""How the requests service itself (applying inventory's outcomes) is named where an actor's role is
written (history, events, the API). It is no realm role: a system ``Actor`` has ``role=None``."""


def role_from_name(name: str) -> Role | None:
    """The role written as ``name`` (`SYSTEM_ROLE` → None)."""
    return None if name == SYSTEM_ROLE else Role(name)


class Party(StrEnum):
    """Who may perform a transition, relative to one request."""

    OWNER_UNIT = "owner_unit"  # a unit_account whose unit_code is the request's unit_code
    QLCL_OFFICER = "qlcl_officer"
    SYSTEM = "system"  # the requests service applying inventory outcomes


class Status(StrEnum):
    """Where a request is. `draft`: the unit is writing it. `submitted`: waiting for QLCL's review.
    `returned`: sent back to the unit for changes. `approved`: QLCL approved it and the inventory is
    allocating serials now (`allocation_status` `allocating`); the request moves on by itself to
    `allocated`, or to `waiting_for_stock` when the central stock is short. `waiting_for_stock`: approved,
    serials follow when printed blanks arrive. `allocated`: serials allocated, waiting for the unit to
    confirm receipt. `received`: receipt confirmed. `rejected`, `cancelled`, `closed`: final."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    WAITING_FOR_STOCK = "waiting_for_stock"
    ALLOCATED = "allocated"
    RECEIVED = "received"
    CLOSED = "closed"


class AllocationStatus(StrEnum):
    """Where the inventory is with an approved request's serials (derived from the request's status)."""

    ALLOCATING = "allocating"  # approved a moment ago; inventory's outcome has not arrived yet
    WAITING_FOR_STOCK = "waiting_for_stock"  # the central stock is short
    ALLOCATED = "allocated"  # serials allocated (and, later, received)


_ALLOCATION_STATUS: Final[dict[Status, AllocationStatus]] = {
    Status.APPROVED: AllocationStatus.ALLOCATING,
    Status.WAITING_FOR_STOCK: AllocationStatus.WAITING_FOR_STOCK,
    Status.ALLOCATED: AllocationStatus.ALLOCATED,
    Status.RECEIVED: AllocationStatus.ALLOCATED,
    Status.CLOSED: AllocationStatus.ALLOCATED,
}


def allocation_status(status: Status) -> AllocationStatus | None:
    """The allocation's progress for a request in ``status``; None before approval, and for a request that
    was rejected or cancelled (never approved)."""
    return _ALLOCATION_STATUS.get(status)


class Action(StrEnum):
    """Mutating actions. ``CREATE`` only appears in history (it has no source state)."""

    CREATE = "create"
    EDIT = "edit"
    SUBMIT = "submit"
    RETURN = "return"
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    MARK_WAITING_FOR_STOCK = "mark_waiting_for_stock"
    MARK_ALLOCATED = "mark_allocated"
    CONFIRM_RECEIPT = "confirm_receipt"
    CLOSE = "close"


class OutcomeResult(StrEnum):
    """What applying an inventory outcome did."""

    APPLIED = "applied"  # state/ranges changed, version bumped, history appended
    DUPLICATE = "duplicate"  # the same outcome was already applied; nothing changed
    STALE = "stale"  # an older outcome than one already applied (or after receipt); nothing changed


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts. ``unit_code`` is required for ``unit_account`` and ignored for capability otherwise."""

    user_id: str
    username: str
    role: Role | None  # None: the service itself (`Actor.system()`)
    unit_code: str | None = None

    def __post_init__(self) -> None:
        if self.role is not None and not isinstance(self.role, Role):
            object.__setattr__(self, "role", role_from_name(self.role))
        if self.role is Role.UNIT_ACCOUNT and not (self.unit_code and self.unit_code.strip()):
            raise InvalidField("a unit account actor needs a unit_code", field="actor.unit_code")

    @classmethod
    def system(cls, username: str = SYSTEM_ROLE) -> Actor:
        return cls(user_id=username, username=username, role=None)

    @property
    def role_name(self) -> str:
        """The role as written: the realm role's name, or `SYSTEM_ROLE`."""
        return SYSTEM_ROLE if self.role is None else self.role.value

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "username": self.username,
            "role": self.role_name,
            "unit_code": self.unit_code,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Actor:
        return cls(
            user_id=raw["user_id"],
            username=raw["username"],
            role=role_from_name(raw["role"]),
            unit_code=raw["unit_code"],
        )


SYSTEM_ACTOR = Actor.system()


@dataclass(frozen=True, slots=True, order=True)
class SerialRange:
    """An inclusive range of serial numbers of one form type: ``first..last``."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if not is_int(self.first) or not is_int(self.last):
            raise InvalidField("serial bounds must be integers", field="ranges")
        if self.first < 0 or self.last < self.first or self.last > MAX_SERIAL:
            raise InvalidField(f"bad serial range {self.first}..{self.last}", field="ranges")

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    def overlaps(self, other: SerialRange) -> bool:
        return self.first <= other.last and other.first <= self.last

    def to_dict(self) -> dict[str, int]:
        return {"first": self.first, "last": self.last}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SerialRange:
        return cls(first=raw["first"], last=raw["last"])


@dataclass(frozen=True, slots=True)
class LineInput:
    """A line as the unit writes it (create / edit). ``line_id`` keeps an existing line's identity."""

    form_type_code: str
    quantity: int
    justification: str | None = None
    expected_graduates: int | None = None
    line_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """What the unit accepted of one line on receipt.

    ``rejected_ranges`` optionally names the serials not accepted (missing, damaged); when given they
    must lie inside the line's allocated ranges and hold exactly ``allocated - accepted`` serials.
    """

    accepted_quantity: int
    discrepancy_note: str | None = None
    rejected_ranges: tuple[SerialRange, ...] | None = None


@dataclass(frozen=True, slots=True)
class RequestLine:
    """One line of a request: a form type, the requested quantity and what became of it."""

    id: uuid.UUID
    form_type_code: str
    quantity: int
    justification: str | None = None
    expected_graduates: int | None = None
    approved_quantity: int | None = None
    shortfall: int | None = None
    allocated_ranges: tuple[SerialRange, ...] = ()
    accepted_quantity: int | None = None
    discrepancy_note: str | None = None
    rejected_ranges: tuple[SerialRange, ...] | None = None

    @property
    def allocated_quantity(self) -> int:
        return sum(r.count for r in self.allocated_ranges)

    def to_dict(self) -> dict[str, Any]:
        return {
            "line_id": str(self.id),
            "form_type_code": self.form_type_code,
            "quantity": self.quantity,
            "justification": self.justification,
            "expected_graduates": self.expected_graduates,
            "approved_quantity": self.approved_quantity,
            "shortfall": self.shortfall,
            "allocated_ranges": [r.to_dict() for r in self.allocated_ranges],
            "allocated_quantity": self.allocated_quantity,
            "accepted_quantity": self.accepted_quantity,
            "discrepancy_note": self.discrepancy_note,
            "rejected_ranges": (None if self.rejected_ranges is None else [r.to_dict() for r in self.rejected_ranges]),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RequestLine:
        rejected = raw.get("rejected_ranges")
        return cls(
            id=uuid.UUID(raw["line_id"]),
            form_type_code=raw["form_type_code"],
            quantity=raw["quantity"],
            justification=raw["justification"],
            expected_graduates=raw["expected_graduates"],
            approved_quantity=raw["approved_quantity"],
            shortfall=raw["shortfall"],
            allocated_ranges=tuple(SerialRange.from_dict(r) for r in raw["allocated_ranges"]),
            accepted_quantity=raw["accepted_quantity"],
            discrepancy_note=raw["discrepancy_note"],
            rejected_ranges=None if rejected is None else tuple(SerialRange.from_dict(r) for r in rejected),
        )


@dataclass(frozen=True, slots=True)
class Attachment:
    """A reference to a stored file (the file itself lives outside the domain)."""

    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str | None = None
    # What the verification of its digital signatures found; None for a file attached before it existed.
    signature: LetterCheck | None = None

    def __post_init__(self) -> None:
        name = self.filename.strip() if isinstance(self.filename, str) else ""
        if not name or len(name) > MAX_FILENAME_LENGTH:
            raise InvalidField("attachment filename must be 1..255 characters", field="filename")
        if not isinstance(self.content_type, str) or not self.content_type.strip():
            raise InvalidField("attachment content type is required", field="content_type")
        if not is_int(self.size_bytes) or self.size_bytes <= 0:
            raise InvalidField("attachment size must be a positive integer", field="size_bytes")
        if self.sha256 is not None and not _SHA256.match(self.sha256):
            raise InvalidField("sha256 must be 64 lowercase hex digits", field="sha256")
        object.__setattr__(self, "filename", name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "attachment_id": str(self.id),
            "filename": self.filename,
            "content_type": self.content_type,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "signature": None if self.signature is None else self.signature.to_dict(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Attachment:
        signature = raw.get("signature")
        return cls(
            id=uuid.UUID(raw["attachment_id"]),
            filename=raw["filename"],
            content_type=raw["content_type"],
            size_bytes=raw["size_bytes"],
            sha256=raw["sha256"],
            signature=None if signature is None else LetterCheck.from_dict(signature),
        )


class AttachmentChange(StrEnum):
    """What an edit did to the request's letters."""

    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class AttachmentEdit:
    """The letter an edit added or removed, by the name it had (it may be gone since)."""

    change: AttachmentChange
    filename: str

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change.value, "filename": self.filename}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> AttachmentEdit:
        return cls(change=AttachmentChange(raw["change"]), filename=raw["filename"])


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One applied action: who, when, from which status to which, and why. What an attachment edit changed
    is said in ``attachment``, so ``comment`` only ever holds what a person wrote."""

    sequence: int  # 1-based; equals the aggregate version the action produced
    action: Action
    from_status: Status | None  # None only for CREATE
    to_status: Status
    actor: Actor
    at: datetime
    comment: str | None = None
    attachment: AttachmentEdit | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "action": self.action.value,
            "from_status": self.from_status.value if self.from_status else None,
            "to_status": self.to_status.value,
            "actor": self.actor.to_dict(),
            "at": self.at.isoformat(),
            "comment": self.comment,
            "attachment": self.attachment.to_dict() if self.attachment else None,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> HistoryEntry:
        return cls(
            sequence=raw["sequence"],
            action=Action(raw["action"]),
            from_status=Status(raw["from_status"]) if raw["from_status"] else None,
            to_status=Status(raw["to_status"]),
            actor=Actor.from_dict(raw["actor"]),
            at=datetime.fromisoformat(raw["at"]),
            comment=raw["comment"],
            attachment=AttachmentEdit.from_dict(raw["attachment"]) if raw["attachment"] else None,
        )


# ---------------------------------------------------------------------------------------------------------
# Small validators shared by the aggregate.


def is_int(value: object) -> bool:
    """An int that is not a bool (``True`` is an ``int`` in Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def utc(at: datetime) -> datetime:
    """A timezone-aware datetime converted to UTC; naive datetimes are refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidField("datetimes must be timezone-aware", field="at")
    return at.astimezone(UTC)


def now_or(at: datetime | None) -> datetime:
    return datetime.now(UTC) if at is None else utc(at)


def clean_text(value: str | None, *, field: str, max_length: int, required: bool = False) -> str | None:
    """Strip; blank becomes None (or an error when required); enforce the length cap."""
    if value is not None and not isinstance(value, str):
        raise InvalidField(f"{field} must be text", field=field)
    text = value.strip() if value else ""
    if not text:
        if required:
            raise InvalidField(f"{field} is required", field=field)
        return None
    if len(text) > max_length:
        raise InvalidField(f"{field} is longer than {max_length} characters", field=field)
    return text


def check_code(value: str, *, field: str) -> str:
    """A unit or form type code: letters, digits, ``_ . -``, starting with a letter or digit, <= 64."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_CODE_LENGTH or not _CODE.match(text):
        raise InvalidField(f"{field} must be 1..{MAX_CODE_LENGTH} letters, digits, '_', '.' or '-'", field=field)
    return text


def vietnam_date(at: datetime) -> date:
    """The calendar date in Vietnam at instant ``at``."""
    return utc(at).astimezone(VIETNAM_TZ).date()


def check_academic_year(value: str) -> str:
    """``YYYY-YYYY`` with consecutive years, e.g. ``2024-2025``."""
    text = value.strip() if isinstance(value, str) else ""
    match = _ACADEMIC_YEAR.match(text)
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise InvalidField("academic year must look like 2024-2025", field="academic_year")
    return text


def check_quantity(value: object, *, field: str, minimum: int, maximum: int = MAX_LINE_QUANTITY) -> int:
    if not is_int(value):
        raise InvalidQuantity(f"{field} must be an integer", field=field)
    assert isinstance(value, int)
    if value < minimum or value > maximum:
        raise InvalidQuantity(f"{field} must be between {minimum} and {maximum}", field=field)
    return value
