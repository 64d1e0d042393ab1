"""The transition table, pinned literally, and exercised for every (state, action) pair."""

from __future__ import annotations

import itertools
import uuid

import pytest
from phoi_requests.domain import (
    ACTION_PARTIES,
    EDITABLE_STATUSES,
    TABLE_ACTIONS,
    TERMINAL_STATUSES,
    TRANSITIONS,
    Action,
    AllocationConflict,
    AllocationStatus,
    IllegalTransition,
    OutcomeResult,
    Party,
    Status,
    allocation_status,
    reachable_statuses,
)
from request_builders import (
    PATH_TO,
    in_state,
    next_outcome_time,
    perform,
    ranges_for,
    shortfall_for,
)

S, A = Status, Action
OWNER, OFFICER, SYSTEM = Party.OWNER_UNIT, Party.QLCL_OFFICER, Party.SYSTEM

# The specification, written out by hand. Changing TRANSITIONS without changing this fails the suite.
EXPECTED: dict[tuple[Status, Action], tuple[Status, Party]] = {
    (S.DRAFT, A.EDIT): (S.DRAFT, OWNER),
    (S.RETURNED, A.EDIT): (S.RETURNED, OWNER),
    (S.DRAFT, A.SUBMIT): (S.SUBMITTED, OWNER),
    (S.RETURNED, A.SUBMIT): (S.SUBMITTED, OWNER),
    (S.DRAFT, A.CANCEL): (S.CANCELLED, OWNER),
    (S.SUBMITTED, A.CANCEL): (S.CANCELLED, OWNER),
    (S.RETURNED, A.CANCEL): (S.CANCELLED, OWNER),
    (S.SUBMITTED, A.RETURN): (S.RETURNED, OFFICER),
    (S.SUBMITTED, A.APPROVE): (S.APPROVED, OFFICER),
    (S.SUBMITTED, A.REJECT): (S.REJECTED, OFFICER),
    (S.APPROVED, A.MARK_WAITING_FOR_STOCK): (S.WAITING_FOR_STOCK, SYSTEM),
    (S.WAITING_FOR_STOCK, A.MARK_WAITING_FOR_STOCK): (S.WAITING_FOR_STOCK, SYSTEM),
    (S.ALLOCATED, A.MARK_WAITING_FOR_STOCK): (S.WAITING_FOR_STOCK, SYSTEM),
    (S.APPROVED, A.MARK_ALLOCATED): (S.ALLOCATED, SYSTEM),
    (S.WAITING_FOR_STOCK, A.MARK_ALLOCATED): (S.ALLOCATED, SYSTEM),
    (S.ALLOCATED, A.MARK_ALLOCATED): (S.ALLOCATED, SYSTEM),
    (S.ALLOCATED, A.CONFIRM_RECEIPT): (S.RECEIVED, OWNER),
    (S.RECEIVED, A.CLOSE): (S.CLOSED, OFFICER),
}

ALL_PAIRS = list(itertools.product(Status, TABLE_ACTIONS))
LEGAL = [pair for pair in ALL_PAIRS if pair in EXPECTED]
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in EXPECTED]
# After receipt, inventory outcomes are answered without an IllegalTransition (see the outcome tests).
ILLEGAL_RAISING = [
    (s, a)
    for (s, a) in ILLEGAL
    if not (s in (S.RECEIVED, S.CLOSED) and a in (A.MARK_ALLOCATED, A.MARK_WAITING_FOR_STOCK))
]


def _pair_id(pair: tuple[Status, Action]) -> str:
    return f"{pair[0].value}-{pair[1].value}"


def test_table_matches_the_specification() -> None:
    actual = {key: (rule.to, *sorted(rule.parties)) for key, rule in TRANSITIONS.items()}
    assert actual == {key: (to, party) for key, (to, party) in EXPECTED.items()}


def test_derived_sets() -> None:
    assert frozenset({S.REJECTED, S.CANCELLED, S.CLOSED}) == TERMINAL_STATUSES
    assert frozenset({S.DRAFT, S.RETURNED}) == EDITABLE_STATUSES
    assert reachable_statuses() == frozenset(Status)
    assert ACTION_PARTIES[A.APPROVE] == frozenset({OFFICER})
    assert ACTION_PARTIES[A.CONFIRM_RECEIPT] == frozenset({OWNER})
    assert A.CREATE not in TABLE_ACTIONS


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_every_state_is_reachable_by_the_builder(status: Status) -> None:
    request = in_state(status)
    assert request.status is status
    assert [h.action for h in request.history] == [A.CREATE, *PATH_TO[status]]


@pytest.mark.parametrize("pair", LEGAL, ids=_pair_id)
def test_legal_transition(pair: tuple[Status, Action]) -> None:
    status, action = pair
    request = in_state(status)
    version = request.version
    result = perform(request, action)
    assert result in (None, OutcomeResult.APPLIED)
    assert request.status is EXPECTED[pair][0]
    assert request.version == version + 1
    last = request.history[-1]
    assert (last.action, last.from_status, last.to_status) == (action, status, EXPECTED[pair][0])
    assert last.sequence == request.version


@pytest.mark.parametrize("pair", ILLEGAL_RAISING, ids=_pair_id)
def test_illegal_transition_raises_with_state_and_action(pair: tuple[Status, Action]) -> None:
    status, action = pair
    request = in_state(status)
    before = request.to_snapshot()
    with pytest.raises(IllegalTransition) as info:
        perform(request, action)
    assert info.value.current_state == status.value
    assert info.value.action == action.value
    assert info.value.code == "request.illegal_transition"
    assert info.value.details()["current_state"] == status.value
    assert request.to_snapshot() == before
    assert request.events == []


@pytest.mark.parametrize("status", [S.RECEIVED, S.CLOSED], ids=lambda s: s.value)
def test_outcomes_after_receipt_never_move_the_request(status: Status) -> None:
    request = in_state(status)
    before = request.to_snapshot()
    assert (
        request.mark_waiting_for_stock({request.lines[0].id: 1}, as_of=next_outcome_time(request))
        is OutcomeResult.STALE
    )
    with pytest.raises(AllocationConflict):
        request.mark_allocated(uuid.uuid4(), ranges_for(request, start=900_000), as_of=next_outcome_time(request))
    assert request.to_snapshot() == before


def test_every_pair_is_classified() -> None:
    assert len(LEGAL) == len(EXPECTED)
    assert len(LEGAL) + len(ILLEGAL) == len(Status) * len(TABLE_ACTIONS)


def test_shortfall_helper_is_usable() -> None:
    request = in_state(S.APPROVED)
    assert set(shortfall_for(request)) == {line.id for line in request.lines}


def test_allocation_status_is_derived_from_the_status() -> None:
    """Pinned for every status: the portal shows "allocating" the moment a request is approved."""
    expected = {
        Status.DRAFT: None,
        Status.SUBMITTED: None,
        Status.RETURNED: None,
        Status.REJECTED: None,
        Status.CANCELLED: None,
        Status.APPROVED: AllocationStatus.ALLOCATING,
        Status.WAITING_FOR_STOCK: AllocationStatus.WAITING_FOR_STOCK,
        Status.ALLOCATED: AllocationStatus.ALLOCATED,
        Status.RECEIVED: AllocationStatus.ALLOCATED,
        Status.CLOSED: AllocationStatus.ALLOCATED,
    }
    assert {status: allocation_status(status) for status in Status} == expected
    # a request can only be rejected or cancelled before approval: null never hides an allocation
    approved_or_later = {s for s, a in expected.items() if a is not None}
    assert not any(
        rule.to in {Status.REJECTED, Status.CANCELLED}
        for (src, _a), rule in TRANSITIONS.items()
        if src in approved_or_later
    )
