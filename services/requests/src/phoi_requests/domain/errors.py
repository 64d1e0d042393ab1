"""Typed domain errors of the request workflow.

Every error carries a stable machine ``code`` (a class attribute, also on the instance) that the API
puts into its problem document unchanged, its message (the ``detail``) and ``details()`` (extra members).
No HTTP here: ``api/errors.py`` gives each an HTTP status, registered with the kit:

===================================  ======  ==========================================================
error                                status  meaning
===================================  ======  ==========================================================
RequestNotFound                      404     a unit actor of another unit asked for this request
ActionForbidden                      403     the actor's role can never perform this action
VersionConflict                      412     ``If-Match`` / expected version is not the current one
VersionRequired                      428     the caller must send its expected version and did not
IllegalTransition                    409     the action is not allowed in the current state
AllocationConflict                   409     inventory reported a different allocation after receipt
UnitInactive                         409     the unit was deactivated (identity); it cannot act now
RuleViolation (and its subclasses)   422     the input breaks a business rule (``field`` says where)
===================================  ======  ==========================================================
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar


class RequestDomainError(Exception):
    """Base of every error raised by the request domain."""

    code: ClassVar[str] = "request.error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, Any]:
        """Machine-readable details (for the problem document's extension members)."""
        return {}


class RequestNotFound(RequestDomainError):
    """The request does not exist *for this actor* (a unit account of another unit)."""

    code: ClassVar[str] = "request.not_found"

    def __init__(self, request_id: uuid.UUID) -> None:
        super().__init__(f"request {request_id} not found")
        self.request_id = request_id

    def details(self) -> dict[str, Any]:
        return {**super().details(), "request_id": str(self.request_id)}


class ActionForbidden(RequestDomainError):
    """The actor lacks the capability for the action (wrong role, or creating for another unit)."""

    code: ClassVar[str] = "request.forbidden"

    def __init__(self, action: str, role: str, message: str | None = None) -> None:
        super().__init__(message or f"role {role!r} may not {action}")
        self.action = action
        self.role = role

    def details(self) -> dict[str, Any]:
        return {**super().details(), "action": self.action, "role": self.role}


class IllegalTransition(RequestDomainError):
    """``action`` is not allowed while the request is in ``current_state``."""

    code: ClassVar[str] = "request.illegal_transition"

    def __init__(self, current_state: str, action: str) -> None:
        super().__init__(f"cannot {action} a request in state {current_state!r}")
        self.current_state = current_state
        self.action = action

    def details(self) -> dict[str, Any]:
        return {**super().details(), "current_state": self.current_state, "action": self.action}


class VersionConflict(RequestDomainError):
    """The caller's expected version (ETag) is not the aggregate's current version."""

    code: ClassVar[str] = "version_mismatch"  # the same code as every service's stale version

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, current version is {actual}")
        self.expected = expected
        self.actual = actual

    def details(self) -> dict[str, Any]:
        return {**super().details(), "expected_version": self.expected, "current_version": self.actual}


class VersionRequired(RequestDomainError):
    """The caller must say which version it read (``If-Match``) and did not."""

    code: ClassVar[str] = "if_match_required"  # the kit's code for a missing If-Match

    def __init__(self, actual: int) -> None:
        super().__init__('Send If-Match with the ETag you read (e.g. If-Match: "3").')
        self.actual = actual

    def details(self) -> dict[str, Any]:
        return {**super().details(), "current_version": self.actual}


class AllocationConflict(RequestDomainError):
    """Inventory reported a newer, different allocation for a request whose blanks were received."""

    code: ClassVar[str] = "request.allocation_conflict"

    def __init__(self, current_state: str, current_allocation: uuid.UUID | None, reported: uuid.UUID) -> None:
        super().__init__(
            f"request in state {current_state!r} holds allocation {current_allocation}; "
            f"inventory reported a different allocation {reported}"
        )
        self.current_state = current_state
        self.current_allocation = current_allocation
        self.reported = reported

    def details(self) -> dict[str, Any]:
        return {
            **super().details(),
            "current_state": self.current_state,
            "current_allocation_id": str(self.current_allocation) if self.current_allocation else None,
            "reported_allocation_id": str(self.reported),
        }


class RuleViolation(RequestDomainError):
    """The input breaks a business rule. ``field`` names the offending input when there is one."""

    code: ClassVar[str] = "request.invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def details(self) -> dict[str, Any]:
        return {**super().details(), "field": self.field}


class InvalidField(RuleViolation):
    """A value is malformed (blank, too long, wrong format, wrong type)."""

    code: ClassVar[str] = "request.invalid_field"


class InvalidQuantity(RuleViolation):
    """A quantity is not an integer in its allowed range (requested > 0, approved/accepted >= 0)."""

    code: ClassVar[str] = "request.invalid_quantity"


class DuplicateFormType(RuleViolation):
    """Two lines of one request name the same form type (one line per form type)."""

    code: ClassVar[str] = "request.duplicate_form_type"


class UnknownLine(RuleViolation):
    """A line id that is not a line of this request."""

    code: ClassVar[str] = "request.unknown_line"


class UnknownAttachment(RuleViolation):
    """An attachment id that is not attached to this request."""

    code: ClassVar[str] = "request.unknown_attachment"


class DuplicateAttachment(RuleViolation):
    """The attachment id is already attached."""

    code: ClassVar[str] = "request.duplicate_attachment"


class NoLines(RuleViolation):
    """Submitting needs at least one line."""

    code: ClassVar[str] = "request.no_lines"


class AttachmentRequired(RuleViolation):
    """Submitting needs at least one attachment (the signed request letter)."""

    code: ClassVar[str] = "request.attachment_required"


class SignedLetterRequired(RuleViolation):
    """Where a validly signed letter is required (``REQUESTS_REQUIRE_SIGNED_LETTER``): submitting needs an
    attachment whose digital signatures are ``valid``, and none that was modified or signed by a revoked
    certificate."""

    code: ClassVar[str] = "request.signed_letter_required"

    def __init__(
        self, message: str, *, field: str | None = "attachments", attachments: Sequence[dict[str, str | None]] = ()
    ) -> None:
        super().__init__(message, field=field)
        self.attachments = list(attachments)

    def details(self) -> dict[str, Any]:
        return {**super().details(), "attachments": self.attachments}


class ReasonRequired(RuleViolation):
    """Reject and return need a non-blank reason."""

    code: ClassVar[str] = "request.reason_required"


class ApprovedQuantityTooHigh(RuleViolation):
    """Approval may lower a line's quantity, never raise it."""

    code: ClassVar[str] = "request.approved_quantity_exceeds_requested"


class AllLinesZero(RuleViolation):
    """An approval that approves nothing; reject the request (with a reason) instead."""

    code: ClassVar[str] = "request.all_lines_zero"


class AcceptedQuantityTooHigh(RuleViolation):
    """On receipt, the accepted quantity of a line exceeds its allocated quantity."""

    code: ClassVar[str] = "request.accepted_exceeds_allocated"


class DiscrepancyNoteRequired(RuleViolation):
    """On receipt, a line accepted below its allocated quantity needs a discrepancy note."""

    code: ClassVar[str] = "request.discrepancy_note_required"


class UnknownFormType(RuleViolation):
    """A line names a form type that is not in the catalogue (the replica of inventory's form types)."""

    code: ClassVar[str] = "request.unknown_form_type"


class FormTypeInactive(RuleViolation):
    """A line names a form type that inventory marked inactive: new requests may not use it."""

    code: ClassVar[str] = "request.form_type_inactive"


class UnitInactive(RequestDomainError):
    """The requesting unit was deactivated: it may not create, edit or submit requests."""

    code: ClassVar[str] = "request.unit_inactive"

    def __init__(self, unit_code: str) -> None:
        super().__init__(f"unit {unit_code} is deactivated and cannot act on requests")
        self.unit_code = unit_code

    def details(self) -> dict[str, Any]:
        return {**super().details(), "unit_code": self.unit_code}


class AllocationMismatch(RuleViolation):
    """An inventory outcome does not fit the request (unknown line, wrong total, overlapping ranges)."""

    code: ClassVar[str] = "request.allocation_mismatch"


ALL_ERRORS: tuple[type[RequestDomainError], ...] = (
    RequestDomainError,
    RequestNotFound,
    ActionForbidden,
    IllegalTransition,
    VersionConflict,
    VersionRequired,
    AllocationConflict,
    RuleViolation,
    InvalidField,
    InvalidQuantity,
    DuplicateFormType,
    UnknownLine,
    UnknownAttachment,
    DuplicateAttachment,
    NoLines,
    AttachmentRequired,
    SignedLetterRequired,
    ReasonRequired,
    ApprovedQuantityTooHigh,
    AllLinesZero,
    AcceptedQuantityTooHigh,
    DiscrepancyNoteRequired,
    AllocationMismatch,
    UnknownFormType,
    FormTypeInactive,
    UnitInactive,
)
"""Every error class; a test checks their codes are unique."""
