"""Domain errors → HTTP statuses, in one place, registered with the kit (``ServiceSpec(error_map=...)``).

Every ``InventoryError`` keeps its stable ``code``; its ``detail`` and JSON ``details()`` (the offending
serial range, form type, state...) become the problem document. The most specific class listed decides:

================================  ======  ==========================================================
code                              status  when
================================  ======  ==========================================================
range_reversed / range_invalid    422     last < first / negative or too large
serial_format                     422     serial outside the form type's digits / wrong prefix
duplicate_serials                 422     a serial named twice in one request
form_type_invalid                 422     a form type field is not valid
form_type_unknown                 422     a body names a form type that does not exist
form_type_inactive                409     a print batch for an inactive (obsolete) form type
form_type_exists                  409     POST /form-types with an existing code
print_batch_overlap               409     the batch reuses printed serials (``conflict`` range)
document_required                 422     lose/destroy without its document, any movement without one
register_entries_invalid          422     use without entry numbers, or entries on another kind
duplicate_register_entries        422     an entry number twice in one request
register_entry_used               409     an entry number the unit already used this year
reason_not_allowed                422     a ledger reason the movement does not take
serials_not_held                  404     a serial the caller's custody does not hold (see below)
serials_wrong_state               409     a serial the caller holds, in a state the movement does not take
transition_unknown                409     no transition takes the blanks from their state
allocation_not_completed          409     the allocation is still waiting for stock
allocation_ranges_mismatch        409     a range no longer allocated to the allocation
movement_forbidden                403     the role may not do this movement on this custody
request_empty                     422     no serials
period_invalid                    422     report period start not before its end
inventory_invariant_violated      500     the stored blocks are inconsistent: logged, never explained
================================  ======  ==========================================================

Decision — serials outside the caller's custody are *not found*: a unit recording a movement on serials
it does not hold gets 404 ``serials_not_held``, whether they are another unit's, in the central stock,
or were never printed (a QLCL officer naming blanks outside the custody it acts on gets the same). The
answer is the same in every case, and it is the answer every other cross-unit access gets, so a unit
cannot probe which serials exist or are held elsewhere. Only the caller's *own* blanks in a state the
movement does not take are a 409 ``serials_wrong_state`` (with the state), because there the caller is
entitled to know why. A unit that names another unit as ``holder_unit`` is refused with 403
``movement_forbidden`` before any serial is looked at: that says nothing about the blanks.
"""

from __future__ import annotations

from phoi_kit.errors import ErrorMap

from phoi_inventory.domain import (
    AllocationNotCompletedError,
    AllocationRangesMismatchError,
    ForbiddenMovementError,
    InactiveFormTypeError,
    InvariantViolationError,
    InventoryError,
    PrintBatchOverlapError,
    SerialsNotHeldError,
    UnknownTransitionError,
    WrongStateError,
)

ERROR_MAP: ErrorMap = {
    InventoryError: 422,
    ForbiddenMovementError: 403,
    SerialsNotHeldError: 404,
    WrongStateError: 409,
    AllocationRangesMismatchError: 409,
    InactiveFormTypeError: 409,
    PrintBatchOverlapError: 409,
    UnknownTransitionError: 409,
    AllocationNotCompletedError: 409,
    InvariantViolationError: 500,
}
