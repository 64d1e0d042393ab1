"""Typed domain errors.

Every error has a stable machine-readable ``code`` (snake_case, like the kit's problem codes), a human
``detail`` (English; the portal translates by ``code``) and ``details()``: JSON-ready data naming the
offending serial range, form type, state, etc., the extra members of its problem document. Errors know no
HTTP: ``api/errors.py`` gives each class its status, in one table the kit applies.

Errors about serials never reveal who else holds a blank: ``SerialsNotHeldError`` only says the caller
does not hold it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from collections.abc import Iterable

    from phoi_inventory.domain.ranges import SerialRange
    from phoi_inventory.domain.states import ActorRole, BlankState, DocumentKind, MovementKind

__all__ = [
    "AllocationNotCompletedError",
    "AllocationRangesMismatchError",
    "DocumentRequiredError",
    "DuplicateRegisterEntriesError",
    "DuplicateSerialsError",
    "EmptyRequestError",
    "ForbiddenMovementError",
    "InactiveFormTypeError",
    "InvalidAllocationRequestError",
    "InvalidFormTypeError",
    "InvalidPeriodError",
    "InvalidPrintBatchError",
    "InvalidRangeError",
    "InvalidRegisterEntriesError",
    "InvariantViolationError",
    "InventoryError",
    "PrintBatchOverlapError",
    "ReasonNotAllowedError",
    "ReversedRangeError",
    "SerialFormatError",
    "SerialsNotHeldError",
    "UnknownTransitionError",
    "UnsupportedMovementKindError",
    "WrongStateError",
]


def _range_json(serials: SerialRange, prefix: str | None = None, digits: int | None = None) -> dict[str, object]:
    out: dict[str, object] = {"first": serials.first, "last": serials.last, "count": serials.count}
    if prefix is not None and digits is not None:
        out["first_label"] = f"{prefix}{serials.first:0{digits}d}"
        out["last_label"] = f"{prefix}{serials.last:0{digits}d}"
    return out


class InventoryError(Exception):
    """Base of every inventory domain error."""

    code: ClassVar[str] = "inventory_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def details(self) -> dict[str, object]:
        """Extra, JSON-ready members for the problem document."""
        return {}


# --------------------------------------------------------------------------- ranges and serials


class InvalidRangeError(InventoryError):
    """A serial range with a negative bound or beyond what PostgreSQL's int8range can hold."""

    code = "range_invalid"

    def __init__(self, first: int, last: int, reason: str) -> None:
        super().__init__(f"Invalid serial range {first}..{last}: {reason}")
        self.first = first
        self.last = last
        self.reason = reason

    def details(self) -> dict[str, object]:
        return {"first": self.first, "last": self.last, "reason": self.reason}


class ReversedRangeError(InvalidRangeError):
    """``last < first``."""

    code = "range_reversed"

    def __init__(self, first: int, last: int) -> None:
        super().__init__(first, last, "the last serial is lower than the first")


class SerialFormatError(InventoryError):
    """A serial (number or text) that does not fit the form type's prefix and number of digits."""

    code = "serial_format"

    def __init__(self, form_type: str, value: str, reason: str) -> None:
        super().__init__(f"Serial {value!r} does not fit form type {form_type}: {reason}")
        self.form_type = form_type
        self.value = value
        self.reason = reason

    def details(self) -> dict[str, object]:
        return {"form_type": self.form_type, "value": self.value, "reason": self.reason}


class DuplicateSerialsError(InventoryError):
    """The same serial appears twice in one request (overlapping ranges or repeated single serials)."""

    code = "duplicate_serials"

    def __init__(self, overlap: SerialRange, form_type: str | None = None) -> None:
        super().__init__(f"Serials {overlap.first}..{overlap.last} appear more than once in the request")
        self.overlap = overlap
        self.form_type = form_type

    def details(self) -> dict[str, object]:
        return {"form_type": self.form_type, "serials": _range_json(self.overlap)}


# --------------------------------------------------------------------------- form types and batches


class InvalidFormTypeError(InventoryError):
    code = "form_type_invalid"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"Invalid form type {field}: {reason}")
        self.field = field
        self.reason = reason

    def details(self) -> dict[str, object]:
        return {"field": self.field, "reason": self.reason}


class InactiveFormTypeError(InventoryError):
    code = "form_type_inactive"

    def __init__(self, form_type: str) -> None:
        super().__init__(f"Form type {form_type} is not active")
        self.form_type = form_type

    def details(self) -> dict[str, object]:
        return {"form_type": self.form_type}


class InvalidPrintBatchError(InventoryError):
    code = "print_batch_invalid"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"Invalid print batch {field}: {reason}")
        self.field = field
        self.reason = reason

    def details(self) -> dict[str, object]:
        return {"field": self.field, "reason": self.reason}


class PrintBatchOverlapError(InventoryError):
    """The batch reuses serials that were already printed (in any state, destroyed ones included)."""

    code = "print_batch_overlap"

    def __init__(self, form_type: str, conflict: SerialRange) -> None:
        super().__init__(f"Serials {conflict.first}..{conflict.last} of form type {form_type} were already printed")
        self.form_type = form_type
        self.conflict = conflict

    def details(self) -> dict[str, object]:
        return {"form_type": self.form_type, "conflict": _range_json(self.conflict)}


# --------------------------------------------------------------------------- movements


class UnsupportedMovementKindError(InventoryError):
    """``record_movement`` only takes the kinds a person records (use, spoil, lose, destroy, return…)."""

    code = "movement_kind_unsupported"

    def __init__(self, kind: MovementKind) -> None:
        super().__init__(f"Movement kind {kind.value!r} cannot be recorded directly")
        self.kind = kind

    def details(self) -> dict[str, object]:
        return {"kind": self.kind.value}


class ForbiddenMovementError(InventoryError):
    """The actor's role may not do this kind of movement, or not on these blanks' custodian."""

    code = "movement_forbidden"

    def __init__(self, kind: MovementKind, role: ActorRole, reason: str) -> None:
        super().__init__(f"A {role.value} actor may not {kind.value}: {reason}")
        self.kind = kind
        self.role = role
        self.reason = reason

    def details(self) -> dict[str, object]:
        return {"kind": self.kind.value, "role": self.role.value, "reason": self.reason}


class UnknownTransitionError(InventoryError):
    """No row of the transition table takes ``kind`` from ``from_state`` (for this role)."""

    code = "transition_unknown"

    def __init__(self, kind: MovementKind, from_state: BlankState | None, role: ActorRole | None = None) -> None:
        frm = from_state.value if from_state is not None else "(unprinted)"
        who = f" by a {role.value} actor" if role is not None else ""
        super().__init__(f"No transition {kind.value!r} from state {frm}{who}")
        self.kind = kind
        self.from_state = from_state
        self.role = role

    def details(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "from_state": self.from_state.value if self.from_state is not None else None,
            "role": self.role.value if self.role is not None else None,
        }


class EmptyRequestError(InventoryError):
    code = "request_empty"

    def __init__(self, what: str = "serials") -> None:
        super().__init__(f"The request names no {what}")
        self.what = what

    def details(self) -> dict[str, object]:
        return {"what": self.what}


class DocumentRequiredError(InventoryError):
    """Lose needs the police report reference; destroy needs the destruction record reference."""

    code = "document_required"

    def __init__(self, kind: MovementKind, document: DocumentKind) -> None:
        super().__init__(f"Movement {kind.value!r} requires a {document.value.replace('_', ' ')} reference")
        self.kind = kind
        self.document = document

    def details(self) -> dict[str, object]:
        return {"kind": self.kind.value, "document": self.document.value}


class InvalidRegisterEntriesError(InventoryError):
    """Register entry numbers missing on a use, present on another kind, or negative."""

    code = "register_entries_invalid"

    def __init__(self, reason: str, serials: SerialRange | None = None) -> None:
        super().__init__(f"Invalid register entry numbers: {reason}")
        self.reason = reason
        self.serials = serials

    def details(self) -> dict[str, object]:
        return {
            "reason": self.reason,
            "serials": _range_json(self.serials) if self.serials is not None else None,
        }


class DuplicateRegisterEntriesError(InventoryError):
    code = "duplicate_register_entries"

    def __init__(self, overlap: SerialRange) -> None:
        super().__init__(f"Register entries {overlap.first}..{overlap.last} are used twice in the request")
        self.overlap = overlap

    def details(self) -> dict[str, object]:
        return {"entries": _range_json(self.overlap)}


class ReasonNotAllowedError(InventoryError):
    code = "reason_not_allowed"

    def __init__(self, kind: MovementKind, reason: str, allowed: Iterable[str], serials: SerialRange) -> None:
        self.kind = kind
        self.reason = reason
        self.allowed = tuple(sorted(allowed))
        self.serials = serials
        super().__init__(
            f"Reason {reason!r} is not allowed for {kind.value!r} on serials {serials.first}..{serials.last};"
            f" allowed: {', '.join(self.allowed)}"
        )

    def details(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "reason": self.reason,
            "allowed": list(self.allowed),
            "serials": _range_json(self.serials),
        }


class _SerialsError(InventoryError):
    """Shared shape of the errors that name the first offending serial range."""

    def __init__(
        self, detail: str, form_type: str, serials: SerialRange, *, prefix: str | None, digits: int | None
    ) -> None:
        super().__init__(detail)
        self.form_type = form_type
        self.serials = serials
        self.prefix = prefix
        self.digits = digits

    @property
    def first_serial(self) -> int:
        return self.serials.first

    def details(self) -> dict[str, object]:
        return {"form_type": self.form_type, "serials": _range_json(self.serials, self.prefix, self.digits)}


class SerialsNotHeldError(_SerialsError):
    """The first serials the caller's custodian does not hold (other holder, or never printed)."""

    code = "serials_not_held"

    def __init__(
        self,
        form_type: str,
        serials: SerialRange,
        holder_unit: str | None,
        *,
        prefix: str | None = None,
        digits: int | None = None,
    ) -> None:
        who = f"unit {holder_unit}" if holder_unit is not None else "the central stock"
        super().__init__(
            f"Serials {serials.first}..{serials.last} of form type {form_type} are not held by {who}",
            form_type,
            serials,
            prefix=prefix,
            digits=digits,
        )
        self.holder_unit = holder_unit

    def details(self) -> dict[str, object]:
        return {**super().details(), "holder_unit": self.holder_unit}


class WrongStateError(_SerialsError):
    """The first serials held by the caller whose state does not allow the movement."""

    code = "serials_wrong_state"

    def __init__(
        self,
        form_type: str,
        serials: SerialRange,
        state: BlankState,
        allowed: Iterable[BlankState],
        kind: MovementKind,
        *,
        prefix: str | None = None,
        digits: int | None = None,
    ) -> None:
        self.state = state
        self.allowed = tuple(sorted(allowed, key=lambda s: s.value))
        self.kind = kind
        allowed_txt = ", ".join(s.value for s in self.allowed) or "none"
        super().__init__(
            f"Serials {serials.first}..{serials.last} of form type {form_type} are {state.value};"
            f" {kind.value!r} needs one of: {allowed_txt}",
            form_type,
            serials,
            prefix=prefix,
            digits=digits,
        )

    def details(self) -> dict[str, object]:
        return {
            **super().details(),
            "state": self.state.value,
            "allowed_states": [s.value for s in self.allowed],
            "kind": self.kind.value,
        }


# --------------------------------------------------------------------------- allocation


class InvalidAllocationRequestError(InventoryError):
    code = "allocation_request_invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid allocation request: {reason}")
        self.reason = reason

    def details(self) -> dict[str, object]:
        return {"reason": self.reason}


class AllocationNotCompletedError(InventoryError):
    code = "allocation_not_completed"

    def __init__(self, allocation_id: str) -> None:
        super().__init__(f"Allocation {allocation_id} has no allocated ranges (it is waiting for stock)")
        self.allocation_id = allocation_id

    def details(self) -> dict[str, object]:
        return {"allocation_id": self.allocation_id}


class AllocationRangesMismatchError(_SerialsError):
    """Receipt or release: the first range of the allocation that is not (any more) allocated to it."""

    code = "allocation_ranges_mismatch"

    def __init__(self, allocation_id: str, form_type: str, serials: SerialRange) -> None:
        super().__init__(
            f"Serials {serials.first}..{serials.last} of form type {form_type} are not allocated"
            f" to allocation {allocation_id}",
            form_type,
            serials,
            prefix=None,
            digits=None,
        )
        self.allocation_id = allocation_id

    def details(self) -> dict[str, object]:
        return {**super().details(), "allocation_id": self.allocation_id}


# --------------------------------------------------------------------------- reports


class InvalidPeriodError(InventoryError):
    code = "period_invalid"

    def __init__(self, start: object, end: object) -> None:
        super().__init__(f"Invalid report period {start} .. {end}: the start must be before the end")
        self.start = start
        self.end = end

    def details(self) -> dict[str, object]:
        return {"start": str(self.start), "end": str(self.end)}


# --------------------------------------------------------------------------- internal consistency


class InvariantViolationError(InventoryError):
    """The blocks or ledger handed to the domain are inconsistent (a bug or a corrupted store): a 500."""

    code = "inventory_invariant_violated"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Inventory invariant violated: {reason}")
        self.reason = reason

    def details(self) -> dict[str, object]:
        return {"reason": self.reason}
