"""The transition table as data."""

from __future__ import annotations

import pytest
from phoi_inventory.domain import (
    MANUAL_KINDS,
    TRANSITIONS,
    ActorRole,
    BlankState,
    Custody,
    DocumentKind,
    LedgerReason,
    MovementKind,
    UnknownTransitionError,
    find_transition,
    transitions_for,
)


def test_table_is_deterministic_per_kind_state_and_role() -> None:
    seen: set[tuple[MovementKind, BlankState | None, ActorRole, Custody]] = set()
    for t in TRANSITIONS:
        for role in t.roles:
            key = (t.kind, t.from_state, role, t.custody)
            assert key not in seen, key
            seen.add(key)


def test_every_kind_and_reason_is_used() -> None:
    assert {t.kind for t in TRANSITIONS} == set(MovementKind)
    assert {r for t in TRANSITIONS for r in t.reasons} == set(LedgerReason)


def test_documents_required_by_decision_2699() -> None:
    for t in transitions_for(MovementKind.LOSE):
        assert t.document is DocumentKind.POLICE_REPORT
    for t in transitions_for(MovementKind.DESTROY):
        assert t.document is DocumentKind.DESTRUCTION_RECORD
    # destroy only spoiled, returned or (obsolete-only) stock
    for t in transitions_for(MovementKind.DESTROY):
        assert t.from_state in {BlankState.SPOILED, BlankState.RETURNED} or t.obsolete_only
    assert [t.register_entries for t in transitions_for(MovementKind.USE)] == [True]


def test_who_may_do_what() -> None:
    unit_kinds = {t.kind for t in TRANSITIONS if ActorRole.UNIT in t.roles}
    assert unit_kinds == {
        MovementKind.RECEIVE,
        MovementKind.USE,
        MovementKind.SPOIL,
        MovementKind.LOSE,
        MovementKind.DESTROY,
        MovementKind.RETURN,
    }
    assert all(t.custody is Custody.UNIT for t in TRANSITIONS if ActorRole.UNIT in t.roles)
    qlcl_central = {
        (t.kind, t.from_state)
        for t in transitions_for(MovementKind.DESTROY, role=ActorRole.QLCL, custody=Custody.CENTRAL)
    }
    assert qlcl_central == {(MovementKind.DESTROY, BlankState.SPOILED), (MovementKind.DESTROY, BlankState.CENTRAL)}
    assert find_transition(MovementKind.RECEIVE_RETURN, BlankState.RETURNED).to_state is BlankState.CENTRAL
    assert find_transition(MovementKind.DESTROY, BlankState.RETURNED).roles == frozenset({ActorRole.QLCL})
    assert not any(ActorRole.SYSTEM in t.roles for t in TRANSITIONS if t.kind in MANUAL_KINDS)


def test_unknown_transition() -> None:
    with pytest.raises(UnknownTransitionError) as exc:
        find_transition(MovementKind.USE, BlankState.CENTRAL)
    assert exc.value.code == "transition_unknown"
    assert exc.value.details() == {"kind": "use", "from_state": "central", "role": None}
    with pytest.raises(UnknownTransitionError):
        find_transition(MovementKind.RECEIVE_RETURN, BlankState.RETURNED, role=ActorRole.UNIT)
    with pytest.raises(UnknownTransitionError):
        find_transition(MovementKind.DESTROY, BlankState.USED)
