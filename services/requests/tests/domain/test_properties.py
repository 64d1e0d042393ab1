"""Property: random action sequences by random actors never leave the table, and history counts them."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from phoi_requests.domain import (
    TABLE_ACTIONS,
    TERMINAL_STATUSES,
    TRANSITIONS,
    Action,
    Actor,
    OutcomeResult,
    ReceiptLine,
    Request,
    RequestDomainError,
    reachable_statuses,
)
from request_builders import (
    OTHER_UNIT,
    T0,
    admin,
    auditor,
    letter,
    new_request,
    officer,
    ranges_for,
    system,
    unit_actor,
)

ACTORS: tuple[Actor, ...] = (unit_actor(), unit_actor(OTHER_UNIT), officer(), admin(), auditor(), system())
ALLOCATIONS = (uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3))
REACHABLE = reachable_statuses()

Step = tuple[Action, int, int, int]
RIGHT_ACTOR = {
    Action.EDIT: 0,
    Action.SUBMIT: 0,
    Action.CANCEL: 0,
    Action.CONFIRM_RECEIPT: 0,
    Action.RETURN: 2,
    Action.APPROVE: 2,
    Action.REJECT: 2,
    Action.CLOSE: 2,
    Action.MARK_WAITING_FOR_STOCK: 5,
    Action.MARK_ALLOCATED: 5,
}


@st.composite
def step_for(draw: st.DrawFn, request: Request) -> Step:
    """Mostly a plausible step (an action legal now, by the right actor), sometimes anything at all."""
    legal = sorted(a for (s, a) in TRANSITIONS if s is request.status)
    onward = [a for a in legal if TRANSITIONS[(request.status, a)].to not in TERMINAL_STATUSES]
    if onward and draw(st.integers(0, 3)) > 0:
        legal = onward  # mostly keep walking rather than ending the request early
    if legal and draw(st.integers(0, 3)) > 0:
        action = draw(st.sampled_from(legal))
    else:
        action = draw(st.sampled_from(TABLE_ACTIONS))
    right = draw(st.integers(0, 3)) > 0
    actor_index = RIGHT_ACTOR[action] if right else draw(st.integers(0, len(ACTORS) - 1))
    minutes = draw(st.integers(0, 30))  # as_of of an outcome, or a variant number
    variant = draw(st.integers(0, 2))  # which variant of the arguments (some are invalid)
    return action, actor_index, minutes, variant


def act(request: Request, step: Step) -> bool:
    """Run one step; True when it changed the request (a transition was applied)."""
    action, actor_index, minutes, variant = step
    actor = ACTORS[actor_index]
    at = request.updated_at + timedelta(seconds=1)
    as_of = T0 + timedelta(minutes=minutes)
    match action:
        case Action.EDIT:
            if variant == 2:
                request.add_attachment(actor, letter(), at=at)
                return True
            return request.update(actor, justification=f"v{minutes}" if variant else "", at=at)
        case Action.SUBMIT:
            request.submit(actor, at=at)
        case Action.RETURN:
            request.return_for_revision(actor, reason=" " if variant == 0 else "Bổ sung hồ sơ", at=at)
        case Action.APPROVE:
            wanted = {line.id: line.quantity - variant * minutes for line in request.lines}
            request.approve(actor, approved_quantities=wanted, at=at)
        case Action.REJECT:
            request.reject(actor, reason="" if variant == 0 else "Không đủ điều kiện", at=at)
        case Action.CANCEL:
            request.cancel(actor, at=at)
        case Action.MARK_WAITING_FOR_STOCK:
            shortfall = {line.id: variant for line in request.lines if line.approved_quantity}
            result = request.mark_waiting_for_stock(shortfall, as_of=as_of, actor=actor, at=at)
            return result is OutcomeResult.APPLIED
        case Action.MARK_ALLOCATED:
            ranges = ranges_for(request, start=1 + 100_000 * variant)
            result = request.mark_allocated(ALLOCATIONS[variant], ranges, as_of=as_of, actor=actor, at=at)
            return result is OutcomeResult.APPLIED
        case Action.CONFIRM_RECEIPT:
            first = request.lines[0]
            accepted = max(first.allocated_quantity - minutes, 0)
            note = None if variant == 0 else "Thiếu phôi"
            request.confirm_receipt(
                actor, lines={first.id: ReceiptLine(accepted_quantity=accepted, discrepancy_note=note)}, at=at
            )
        case Action.CLOSE:
            request.close(actor, at=at)
        case _:  # pragma: no cover
            raise AssertionError(action)
    return True


@settings(max_examples=200, deadline=None)
@given(st.data(), st.integers(0, 40))
def test_random_sequences_stay_inside_the_table(data: st.DataObject, length: int) -> None:
    request = new_request()
    applied = 0
    for _ in range(length):
        step = data.draw(step_for(request))
        before_status, before_version = request.status, request.version
        events_before = len(request.events)
        try:
            changed = act(request, step)
        except RequestDomainError:
            changed = False
        assert request.status in REACHABLE
        if changed:
            applied += 1
            rule = TRANSITIONS[(before_status, step[0])]
            assert request.status is rule.to
            assert request.version == before_version + 1
            last = request.history[-1]
            assert (last.from_status, last.to_status) == (before_status, request.status)
        else:
            assert (request.status, request.version) == (before_status, before_version)
            assert len(request.events) == events_before
    # the creation is the first history entry, then one entry per applied transition
    assert len(request.history) == 1 + applied
    assert request.version == len(request.history)
    assert [h.sequence for h in request.history] == list(range(1, len(request.history) + 1))
    for previous, current in zip(request.history, request.history[1:], strict=False):
        assert current.from_status is previous.to_status
        assert current.at >= previous.at
    assert Request.from_snapshot(request.to_snapshot()).to_snapshot() == request.to_snapshot()
