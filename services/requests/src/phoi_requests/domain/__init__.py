"""The request workflow's domain layer: plain Python, no I/O.

Modules: ``request.py`` (the aggregate and the persistence contract), ``editing.py`` (what a draft may
hold), ``line_rules.py`` (approval, allocation and receipt of lines), ``inventory_outcomes.py`` (the
commands inventory's answers drive), ``payloads.py`` (the events' data), ``transitions.py`` (the state
machine as data), ``model.py`` (values), ``events.py`` (domain events, shaped like the contracts),
``errors.py`` (typed errors with stable codes).

Decisions:

* History holds every applied action, ``create`` first (``from_status`` None), self-loops included (edits,
  shortfall updates, re-allocation); ``version == len(history)``; an action that changed nothing (an
  ``update`` with equal values, a DUPLICATE/STALE inventory outcome) adds no entry and keeps the version.
* A request always has at least one line (``request.created.v1`` requires one); submitting also needs
  an attachment (the signed request letter).
* Approval may lower, never raise, a line; a line may be approved at 0 but not all lines (reject instead).
* Capability order: not visible (unit of another unit) → ``RequestNotFound``; role/party can never do the
  action → ``ActionForbidden``; missing (where required) or stale ``expected_version`` →
  ``VersionRequired`` / ``VersionConflict``; action not allowed in
  the state → ``IllegalTransition``; bad input → a ``RuleViolation`` subclass.
* ``qlcl_admin`` and ``auditor`` are read-only here; ``system`` (the service's consumer) alone applies
  inventory outcomes; the QLCL officer closes a received request.
"""

from phoi_contracts.events.identity import Role as Role

from phoi_requests.domain.editing import check_signed_letter
from phoi_requests.domain.errors import (
    ALL_ERRORS,
    AcceptedQuantityTooHigh,
    ActionForbidden,
    AllLinesZero,
    AllocationConflict,
    AllocationMismatch,
    ApprovedQuantityTooHigh,
    AttachmentRequired,
    DiscrepancyNoteRequired,
    DuplicateAttachment,
    DuplicateFormType,
    FormTypeInactive,
    IllegalTransition,
    InvalidField,
    InvalidQuantity,
    NoLines,
    ReasonRequired,
    RequestDomainError,
    RequestNotFound,
    RuleViolation,
    SignedLetterRequired,
    UnitInactive,
    UnknownAttachment,
    UnknownFormType,
    UnknownLine,
    VersionConflict,
    VersionRequired,
)
from phoi_requests.domain.events import EVENT_TYPES, RequestEvent
from phoi_requests.domain.model import (
    SYSTEM_ACTOR,
    SYSTEM_ROLE,
    Action,
    Actor,
    AllocationStatus,
    Attachment,
    AttachmentChange,
    AttachmentEdit,
    HistoryEntry,
    LineInput,
    OutcomeResult,
    Party,
    ReceiptLine,
    RequestLine,
    SerialRange,
    Status,
    allocation_status,
    role_from_name,
)
from phoi_requests.domain.request import Request
from phoi_requests.domain.signatures import LetterCheck, Revocation, SignatureFinding, SignatureResult
from phoi_requests.domain.transitions import (
    ACTION_PARTIES,
    EDITABLE_STATUSES,
    INITIAL_STATUS,
    TABLE_ACTIONS,
    TERMINAL_STATUSES,
    TRANSITIONS,
    WAITING_ON,
    Rule,
    reachable_statuses,
    rule_for,
)

__all__ = [
    "ACTION_PARTIES",
    "ALL_ERRORS",
    "EDITABLE_STATUSES",
    "EVENT_TYPES",
    "INITIAL_STATUS",
    "SYSTEM_ACTOR",
    "SYSTEM_ROLE",
    "TABLE_ACTIONS",
    "TERMINAL_STATUSES",
    "TRANSITIONS",
    "WAITING_ON",
    "AcceptedQuantityTooHigh",
    "Action",
    "ActionForbidden",
    "Actor",
    "AllLinesZero",
    "AllocationConflict",
    "AllocationMismatch",
    "AllocationStatus",
    "ApprovedQuantityTooHigh",
    "Attachment",
    "AttachmentChange",
    "AttachmentEdit",
    "AttachmentRequired",
    "DiscrepancyNoteRequired",
    "DuplicateAttachment",
    "DuplicateFormType",
    "FormTypeInactive",
    "HistoryEntry",
    "IllegalTransition",
    "InvalidField",
    "InvalidQuantity",
    "LetterCheck",
    "LineInput",
    "NoLines",
    "OutcomeResult",
    "Party",
    "ReasonRequired",
    "ReceiptLine",
    "Request",
    "RequestDomainError",
    "RequestEvent",
    "RequestLine",
    "RequestNotFound",
    "Revocation",
    "Role",
    "Rule",
    "RuleViolation",
    "SerialRange",
    "SignatureFinding",
    "SignatureResult",
    "SignedLetterRequired",
    "Status",
    "UnitInactive",
    "UnknownAttachment",
    "UnknownFormType",
    "UnknownLine",
    "VersionConflict",
    "VersionRequired",
    "allocation_status",
    "check_signed_letter",
    "reachable_statuses",
    "role_from_name",
    "rule_for",
]
