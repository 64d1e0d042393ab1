"""The rules for a request's lines after drafting: approval, inventory's outcomes, and receipt.

Pure functions: each takes the current lines and the input, and returns the new lines (or the checked
input) or raises a ``RuleViolation`` subclass. The aggregate applies the result only when nothing raised.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import pairwise

from phoi_requests.domain.errors import (
    AcceptedQuantityTooHigh,
    AllLinesZero,
    AllocationMismatch,
    ApprovedQuantityTooHigh,
    DiscrepancyNoteRequired,
    InvalidField,
    InvalidQuantity,
    UnknownLine,
)
from phoi_requests.domain.model import (
    MAX_REASON_LENGTH,
    ReceiptLine,
    RequestLine,
    SerialRange,
    check_quantity,
    clean_text,
    is_int,
)


def check_known(lines: Iterable[RequestLine], given: Iterable[uuid.UUID], *, request_id: uuid.UUID, field: str) -> None:
    """Every id in ``given`` is one of the request's lines."""
    known = {line.id for line in lines}
    for line_id in given:
        if line_id not in known:
            raise UnknownLine(f"line {line_id} is not part of request {request_id}", field=field)


# --- approval ------------------------------------------------------------------------------------------


def approve_lines(
    lines: Sequence[RequestLine], wanted: Mapping[uuid.UUID, int], *, request_id: uuid.UUID
) -> tuple[RequestLine, ...]:
    """Lines absent from ``wanted`` are approved as requested; ``0 <= approved <= requested``; not all 0."""
    check_known(lines, wanted, request_id=request_id, field="approved_quantities")
    new_lines = []
    for line in lines:
        approved = wanted.get(line.id, line.quantity)
        name = f"approved_quantities[{line.id}]"
        if is_int(approved) and approved > line.quantity:
            raise ApprovedQuantityTooHigh(
                f"approved quantity {approved} exceeds the requested {line.quantity}", field=name
            )
        approved = check_quantity(approved, field=name, minimum=0, maximum=line.quantity)
        new_lines.append(replace(line, approved_quantity=approved))
    if all(line.approved_quantity == 0 for line in new_lines):
        raise AllLinesZero("an approval must approve at least one blank; reject instead", field="lines")
    return tuple(new_lines)


# --- inventory's outcomes ------------------------------------------------------------------------------


def check_shortfall(lines: Sequence[RequestLine], shortfall: Mapping[uuid.UUID, int]) -> dict[uuid.UUID, int]:
    """Shortfall per line: known lines, ``0 <= s <= approved``, at least one > 0; absent lines → 0."""
    known = {line.id: line for line in lines}
    for line_id, value in shortfall.items():
        line = known.get(line_id)
        if line is None:
            raise AllocationMismatch(f"shortfall names unknown line {line_id}", field="shortfall")
        try:
            check_quantity(value, field="shortfall", minimum=0, maximum=line.approved_quantity or 0)
        except InvalidQuantity as exc:
            raise AllocationMismatch(
                f"shortfall {value!r} for line {line_id} is outside 0..{line.approved_quantity}",
                field="shortfall",
            ) from exc
    result = {line.id: shortfall.get(line.id, 0) for line in lines if (line.approved_quantity or 0) > 0}
    if not any(result.values()):
        raise AllocationMismatch("a waiting-for-stock outcome needs a positive shortfall", field="shortfall")
    return result


def check_ranges(
    lines: Sequence[RequestLine], ranges: Mapping[uuid.UUID, Sequence[SerialRange]]
) -> dict[uuid.UUID, tuple[SerialRange, ...]]:
    """Known lines only; per line, non-overlapping ranges totalling exactly the approved quantity."""
    known = {line.id for line in lines}
    for line_id in ranges:
        if line_id not in known:
            raise AllocationMismatch(f"allocation names unknown line {line_id}", field="ranges")
    normalised = {line.id: tuple(sorted(ranges.get(line.id, ()))) for line in lines}
    for line in lines:
        _check_line_ranges(line, normalised[line.id])
    return normalised


def _check_line_ranges(line: RequestLine, line_ranges: tuple[SerialRange, ...]) -> None:
    if not all(isinstance(r, SerialRange) for r in line_ranges):
        raise AllocationMismatch("ranges must be SerialRange values", field="ranges")
    for a, b in pairwise(line_ranges):
        if a.overlaps(b):
            raise AllocationMismatch(f"overlapping ranges for line {line.id}", field="ranges")
    total = sum(r.count for r in line_ranges)
    if total != (line.approved_quantity or 0):
        raise AllocationMismatch(
            f"line {line.id} ({line.form_type_code}) was approved {line.approved_quantity} blanks "
            f"but allocated {total}",
            field="ranges",
        )


# --- receipt -------------------------------------------------------------------------------------------


def receive_lines(
    lines: Sequence[RequestLine], given: Mapping[uuid.UUID, ReceiptLine], *, request_id: uuid.UUID
) -> tuple[RequestLine, ...]:
    """Lines absent from ``given`` are accepted in full."""
    check_known(lines, given, request_id=request_id, field="lines")
    return tuple(receive_line(line, given.get(line.id)) for line in lines)


def receive_line(line: RequestLine, receipt: ReceiptLine | None) -> RequestLine:
    """``0 <= accepted <= allocated``; below allocated needs a discrepancy note; rejected ranges (when
    given) lie inside the allocated ranges and hold exactly ``allocated - accepted`` serials."""
    allocated = line.allocated_quantity
    if receipt is None:
        return replace(line, accepted_quantity=allocated, discrepancy_note=None, rejected_ranges=None)
    name = f"lines[{line.id}]"
    accepted = receipt.accepted_quantity
    if is_int(accepted) and accepted > allocated:
        raise AcceptedQuantityTooHigh(
            f"accepted quantity {accepted} exceeds the allocated {allocated}",
            field=f"{name}.accepted_quantity",
        )
    accepted = check_quantity(accepted, field=f"{name}.accepted_quantity", minimum=0, maximum=allocated)
    note = clean_text(receipt.discrepancy_note, field=f"{name}.discrepancy_note", max_length=MAX_REASON_LENGTH)
    if accepted < allocated and note is None:
        raise DiscrepancyNoteRequired(
            f"{allocated - accepted} blanks of {line.form_type_code} not accepted: a discrepancy note is required",
            field=f"{name}.discrepancy_note",
        )
    rejected = None
    if receipt.rejected_ranges is not None:
        rejected = _check_rejected(line, receipt.rejected_ranges, missing=allocated - accepted, name=name) or None
    return replace(line, accepted_quantity=accepted, discrepancy_note=note, rejected_ranges=rejected)


def _check_rejected(
    line: RequestLine, ranges: Sequence[SerialRange], *, missing: int, name: str
) -> tuple[SerialRange, ...]:
    rejected = tuple(sorted(ranges))
    field_name = f"{name}.rejected_ranges"
    if not all(isinstance(r, SerialRange) for r in rejected):
        raise InvalidField("rejected ranges must be SerialRange values", field=field_name)
    if any(a.overlaps(b) for a, b in pairwise(rejected)):
        raise InvalidField("rejected ranges overlap", field=field_name)
    if not all(any(a.first <= r.first and r.last <= a.last for a in line.allocated_ranges) for r in rejected):
        raise InvalidField("rejected ranges must lie inside the allocated ranges", field=field_name)
    if sum(r.count for r in rejected) != missing:
        raise InvalidField(f"rejected ranges must hold exactly {missing} serials", field=field_name)
    return rejected
