"""What waits for whom, and the aggregate's side-effect-free checks (`may_ever`, `authorise`)."""

from __future__ import annotations

import pytest
from phoi_requests.domain import (
    TERMINAL_STATUSES,
    TRANSITIONS,
    WAITING_ON,
    Action,
    ActionForbidden,
    IllegalTransition,
    Party,
    RequestNotFound,
    Status,
    VersionConflict,
    VersionRequired,
)
from request_builders import OTHER_UNIT, auditor, in_state, officer, system, unit_actor


def test_a_request_waits_for_someone_who_can_move_it_on() -> None:
    for party, statuses in WAITING_ON.items():
        for status in statuses:
            onward = [a for (s, a), rule in TRANSITIONS.items() if s is status and party in rule.parties]
            assert any(TRANSITIONS[(status, a)].to is not status for a in onward), (party, status)


def test_every_live_status_waits_for_exactly_one_party_except_waiting_for_stock() -> None:
    for status in Status:
        waiting = [party for party, statuses in WAITING_ON.items() if status in statuses]
        if status in TERMINAL_STATUSES or status is Status.WAITING_FOR_STOCK:
            assert waiting == [], status
        else:
            assert len(waiting) == 1, (status, waiting)
    assert WAITING_ON[Party.OWNER_UNIT] == {Status.DRAFT, Status.RETURNED, Status.ALLOCATED}
    assert WAITING_ON[Party.QLCL_OFFICER] == {Status.SUBMITTED, Status.RECEIVED}


def test_may_ever_ignores_the_state() -> None:
    closed = in_state(Status.CLOSED)
    assert closed.may_ever(unit_actor(), Action.SUBMIT)
    assert closed.may_ever(officer(), Action.APPROVE)
    assert not closed.may_ever(officer(), Action.SUBMIT)
    assert not closed.may_ever(auditor(), Action.APPROVE)
    assert not closed.may_ever(unit_actor(OTHER_UNIT), Action.SUBMIT)
    assert closed.may_ever(system(), Action.MARK_ALLOCATED)


def test_authorise_checks_in_the_commands_order_and_changes_nothing() -> None:
    request = in_state(Status.SUBMITTED)
    before = request.to_snapshot()
    with pytest.raises(RequestNotFound):
        request.authorise(unit_actor(OTHER_UNIT), Action.CANCEL, 99)
    with pytest.raises(ActionForbidden):
        request.authorise(auditor(), Action.APPROVE, 99)
    with pytest.raises(VersionConflict):
        request.authorise(officer(), Action.CLOSE, 99)
    with pytest.raises(IllegalTransition):
        request.authorise(officer(), Action.CLOSE, request.version)
    request.authorise(officer(), Action.APPROVE, request.version)
    request.authorise(officer(), Action.APPROVE)
    assert request.to_snapshot() == before
    assert request.events == []


def test_a_required_version_is_asked_for_after_who_and_before_the_state() -> None:
    request = in_state(Status.SUBMITTED)
    with pytest.raises(RequestNotFound):
        request.authorise(unit_actor(OTHER_UNIT), Action.CANCEL, version_required=True)
    with pytest.raises(ActionForbidden):
        request.authorise(auditor(), Action.APPROVE, version_required=True)
    with pytest.raises(VersionRequired) as info:  # 428 even where the state would refuse (409)
        request.authorise(officer(), Action.CLOSE, version_required=True)
    assert info.value.details() == {"current_version": request.version}
    request.authorise(officer(), Action.APPROVE, request.version, version_required=True)
