"""Blank states, movement kinds, typed ledger reasons and the transition table (as data).

The table ``TRANSITIONS`` is the single source of truth for which movement takes blanks from which state
to which, who may do it (a unit account on its own blanks, or QLCL on blanks in its custody), which
ledger reason is written and which document reference is mandatory. Everything else reads it.

Custody: a block's ``holder_unit`` is ``None`` while QLCL has the blank (central stock, and blanks QLCL
itself spoiled, lost or destroyed) and the unit's code otherwise (allocated to it, at the unit, used,
spoiled/lost/destroyed by it, returned by it and not yet received back).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from phoi_inventory.domain.errors import UnknownTransitionError

__all__ = [
    "MANUAL_KINDS",
    "ON_HAND_STATES",
    "TRANSITIONS",
    "ActorRole",
    "BlankState",
    "Custody",
    "DocumentKind",
    "LedgerReason",
    "MovementKind",
    "Transition",
    "find_transition",
    "transitions_for",
]


class BlankState(StrEnum):
    """Where a blank is in its life. One name per state everywhere: the REST API, the ledger and the
    events (``stock.movement_recorded.v2``) all use these."""

    CENTRAL = "central"  # in QLCL's vault, free
    ALLOCATED = "allocated"  # earmarked for a unit's approved request, not yet received
    AT_UNIT = "at_unit"  # received by the unit, on hand
    USED = "used"  # written for a register entry (số vào sổ gốc)
    SPOILED = "spoiled"  # damaged, misprinted, miswritten
    LOST = "lost"
    DESTROYED = "destroyed"
    RETURNED = "returned"  # sent back to QLCL by a unit, awaiting QLCL's receipt or destruction


#: States in which a blank counts in a custodian's stock on hand (central for QLCL, at_unit for a unit).
ON_HAND_STATES = frozenset({BlankState.CENTRAL, BlankState.AT_UNIT})


class MovementKind(StrEnum):
    """What moved blanks from one state to another (the ledger's ``kind``; the manual kinds are also the
    events' ``kind``)."""

    RECEIVE_PRINT = "receive_print"  # a print batch enters the central stock
    ALLOCATE = "allocate"  # approval: central -> allocated
    RELEASE = "release"  # allocation cancelled: allocated -> central
    RECEIVE = "receive"  # receipt confirmed by the unit: allocated -> at_unit
    USE = "use"
    SPOIL = "spoil"
    LOSE = "lose"
    DESTROY = "destroy"
    RETURN = "return"  # unit sends blanks back
    RECEIVE_RETURN = "receive_return"  # QLCL takes returned blanks back into central stock


#: The kinds a person records through ``record_movement`` (POST /movements).
MANUAL_KINDS = frozenset(
    {
        MovementKind.USE,
        MovementKind.SPOIL,
        MovementKind.LOSE,
        MovementKind.DESTROY,
        MovementKind.RETURN,
        MovementKind.RECEIVE_RETURN,
    }
)


class LedgerReason(StrEnum):
    PRINT_BATCH_RECEIVED = "print_batch_received"
    ALLOCATED = "allocated"
    ALLOCATION_RELEASED = "allocation_released"
    RECEIPT_CONFIRMED = "receipt_confirmed"
    ISSUED = "issued"  # used for a register entry
    SPOILED_DAMAGED = "spoiled_damaged"
    SPOILED_MISPRINTED = "spoiled_misprinted"
    SPOILED_MISWRITTEN = "spoiled_miswritten"
    LOST = "lost"
    DESTROYED_SPOILED = "destroyed_spoiled"
    DESTROYED_OBSOLETE = "destroyed_obsolete"
    DESTROYED_RETURNED = "destroyed_returned"
    RETURNED = "returned"
    RETURN_RECEIVED = "return_received"


class ActorRole(StrEnum):
    UNIT = "unit"  # a receiving unit's account; acts on its own blanks only
    QLCL = "qlcl"  # a QLCL officer
    SYSTEM = "system"  # the service itself reacting to an event (allocation on approval, etc.)


class Custody(StrEnum):
    """Whose blanks a transition acts on."""

    CENTRAL = "central"  # holder_unit is None (QLCL's custody)
    UNIT = "unit"  # holder_unit is a unit


class DocumentKind(StrEnum):
    CONTRACT = "printing_contract"
    POLICE_REPORT = "police_report"  # Circular 21: loss reported to the police at once
    DESTRUCTION_RECORD = "destruction_record"  # biên bản hủy of the destruction council


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the transition table.

    ``obsolete_only``: allowed only for blanks of an obsolete form type (``FormType.active is False``).
    ``reasons``: the ledger reasons allowed; the first is the default.
    """

    kind: MovementKind
    from_state: BlankState | None
    to_state: BlankState
    roles: frozenset[ActorRole]
    custody: Custody
    reasons: tuple[LedgerReason, ...]
    document: DocumentKind | None = None
    obsolete_only: bool = False
    register_entries: bool = False

    @property
    def default_reason(self) -> LedgerReason:
        return self.reasons[0]


_U = frozenset({ActorRole.UNIT})
_Q = frozenset({ActorRole.QLCL})
_QS = frozenset({ActorRole.QLCL, ActorRole.SYSTEM})
_US = frozenset({ActorRole.UNIT, ActorRole.SYSTEM})
_S = BlankState
_K = MovementKind
_R = LedgerReason

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        _K.RECEIVE_PRINT,
        None,
        _S.CENTRAL,
        _Q,
        Custody.CENTRAL,
        (_R.PRINT_BATCH_RECEIVED,),
        DocumentKind.CONTRACT,
    ),
    Transition(_K.ALLOCATE, _S.CENTRAL, _S.ALLOCATED, _QS, Custody.CENTRAL, (_R.ALLOCATED,)),
    Transition(_K.RELEASE, _S.ALLOCATED, _S.CENTRAL, _QS, Custody.UNIT, (_R.ALLOCATION_RELEASED,)),
    Transition(_K.RECEIVE, _S.ALLOCATED, _S.AT_UNIT, _US, Custody.UNIT, (_R.RECEIPT_CONFIRMED,)),
    Transition(_K.USE, _S.AT_UNIT, _S.USED, _U, Custody.UNIT, (_R.ISSUED,), register_entries=True),
    Transition(
        _K.SPOIL,
        _S.AT_UNIT,
        _S.SPOILED,
        _U,
        Custody.UNIT,
        (_R.SPOILED_DAMAGED, _R.SPOILED_MISPRINTED, _R.SPOILED_MISWRITTEN),
    ),
    Transition(
        _K.SPOIL,
        _S.CENTRAL,
        _S.SPOILED,
        _Q,
        Custody.CENTRAL,
        (_R.SPOILED_DAMAGED, _R.SPOILED_MISPRINTED, _R.SPOILED_MISWRITTEN),
    ),
    Transition(_K.LOSE, _S.AT_UNIT, _S.LOST, _U, Custody.UNIT, (_R.LOST,), DocumentKind.POLICE_REPORT),
    Transition(_K.LOSE, _S.CENTRAL, _S.LOST, _Q, Custody.CENTRAL, (_R.LOST,), DocumentKind.POLICE_REPORT),
    Transition(
        _K.DESTROY,
        _S.SPOILED,
        _S.DESTROYED,
        _U,
        Custody.UNIT,
        (_R.DESTROYED_SPOILED,),
        DocumentKind.DESTRUCTION_RECORD,
    ),
    Transition(
        _K.DESTROY,
        _S.AT_UNIT,
        _S.DESTROYED,
        _U,
        Custody.UNIT,
        (_R.DESTROYED_OBSOLETE,),
        DocumentKind.DESTRUCTION_RECORD,
        obsolete_only=True,
    ),
    Transition(
        _K.DESTROY,
        _S.SPOILED,
        _S.DESTROYED,
        _Q,
        Custody.CENTRAL,
        (_R.DESTROYED_SPOILED,),
        DocumentKind.DESTRUCTION_RECORD,
    ),
    Transition(
        _K.DESTROY,
        _S.CENTRAL,
        _S.DESTROYED,
        _Q,
        Custody.CENTRAL,
        (_R.DESTROYED_OBSOLETE,),
        DocumentKind.DESTRUCTION_RECORD,
        obsolete_only=True,
    ),
    Transition(
        _K.DESTROY,
        _S.RETURNED,
        _S.DESTROYED,
        _Q,
        Custody.UNIT,
        (_R.DESTROYED_RETURNED,),
        DocumentKind.DESTRUCTION_RECORD,
    ),
    Transition(_K.RETURN, _S.AT_UNIT, _S.RETURNED, _U, Custody.UNIT, (_R.RETURNED,)),
    Transition(_K.RECEIVE_RETURN, _S.RETURNED, _S.CENTRAL, _Q, Custody.UNIT, (_R.RETURN_RECEIVED,)),
)


def transitions_for(
    kind: MovementKind, *, role: ActorRole | None = None, custody: Custody | None = None
) -> tuple[Transition, ...]:
    """The rows for ``kind``, optionally only those open to ``role`` and acting on ``custody``."""
    return tuple(
        t
        for t in TRANSITIONS
        if t.kind is kind and (role is None or role in t.roles) and (custody is None or t.custody is custody)
    )


def find_transition(kind: MovementKind, from_state: BlankState | None, *, role: ActorRole | None = None) -> Transition:
    """The row taking ``kind`` from ``from_state`` (for ``role``); ``UnknownTransitionError`` if none."""
    for t in TRANSITIONS:
        if t.kind is kind and t.from_state is from_state and (role is None or role in t.roles):
            return t
    raise UnknownTransitionError(kind, from_state, role)
