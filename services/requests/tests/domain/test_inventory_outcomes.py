"""Applying inventory outcomes: idempotent, order-independent, strict about content."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest
from phoi_requests.domain import (
    AllocationConflict,
    AllocationMismatch,
    InvalidField,
    OutcomeResult,
    Request,
    SerialRange,
    Status,
)
from phoi_requests.domain.model import MAX_SERIAL
from request_builders import T0, in_state, officer, ranges_for, system, unit_actor

Outcome = Callable[[Request], OutcomeResult]


def _t(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)


def allocate(allocation_id: uuid.UUID, minutes: int, *, start: int = 1, revision: int | None = None) -> Outcome:
    def apply(request: Request) -> OutcomeResult:
        return request.mark_allocated(
            allocation_id, ranges_for(request, start=start), as_of=T0 + _t(minutes), approval_revision=revision
        )

    return apply


def wait(minutes: int, amount: int = 5, *, revision: int | None = None) -> Outcome:
    def apply(request: Request) -> OutcomeResult:
        shortfall = {line.id: amount for line in request.lines if line.approved_quantity}
        return request.mark_waiting_for_stock(shortfall, as_of=T0 + _t(minutes), approval_revision=revision)

    return apply


def test_allocation_sets_ranges_and_records_history() -> None:
    request = in_state(Status.APPROVED)
    allocation = uuid.uuid4()
    assert allocate(allocation, 10)(request) is OutcomeResult.APPLIED
    assert request.status is Status.ALLOCATED
    assert request.allocation_id == allocation
    assert request.outcome_as_of == T0 + _t(10)
    assert request.lines[0].allocated_ranges == (SerialRange(1, 1200),)
    assert request.lines[1].allocated_ranges == (SerialRange(1201, 2000),)
    assert request.allocated_ranges == {line.id: line.allocated_ranges for line in request.lines}
    last = request.history[-1]
    assert last.actor == system()
    assert last.comment == f"allocation {allocation}"
    assert request.events == []  # inventory outcomes emit nothing


def test_duplicate_allocation_changes_nothing() -> None:
    request = in_state(Status.APPROVED)
    allocation = uuid.uuid4()
    allocate(allocation, 10)(request)
    before = request.to_snapshot()
    assert allocate(allocation, 10)(request) is OutcomeResult.DUPLICATE
    assert allocate(allocation, 99)(request) is OutcomeResult.DUPLICATE  # a re-published copy
    assert request.to_snapshot() == before


def test_same_allocation_with_other_ranges_is_a_mismatch() -> None:
    request = in_state(Status.APPROVED)
    allocation = uuid.uuid4()
    allocate(allocation, 10)(request)
    with pytest.raises(AllocationMismatch):
        allocate(allocation, 10, start=5000)(request)


def test_stale_waiting_after_allocation_is_ignored() -> None:
    request = in_state(Status.APPROVED)
    allocate(uuid.uuid4(), 10)(request)
    before = request.to_snapshot()
    assert wait(5)(request) is OutcomeResult.STALE
    assert wait(10)(request) is OutcomeResult.STALE  # same instant: the allocation already won
    assert request.to_snapshot() == before


def test_newer_waiting_revokes_the_allocation() -> None:
    request = in_state(Status.APPROVED)
    allocate(uuid.uuid4(), 10)(request)
    assert wait(20)(request) is OutcomeResult.APPLIED
    assert request.status is Status.WAITING_FOR_STOCK
    assert request.allocation_id is None
    assert all(line.allocated_ranges == () for line in request.lines)
    assert [line.shortfall for line in request.lines] == [5, 5]


def test_waiting_duplicates_and_updates() -> None:
    request = in_state(Status.APPROVED)
    assert wait(10, 5)(request) is OutcomeResult.APPLIED
    version = request.version
    assert wait(10, 5)(request) is OutcomeResult.DUPLICATE
    assert wait(10, 7)(request) is OutcomeResult.STALE  # same instant, other content: first one wins
    assert wait(9, 7)(request) is OutcomeResult.STALE
    assert request.version == version
    assert wait(11, 7)(request) is OutcomeResult.APPLIED  # a newer shortfall is a self-loop
    assert request.status is Status.WAITING_FOR_STOCK
    assert request.version == version + 1
    assert [line.shortfall for line in request.lines] == [7, 7]


def test_newer_allocation_replaces_the_current_one() -> None:
    request = in_state(Status.APPROVED)
    first, second = uuid.uuid4(), uuid.uuid4()
    allocate(first, 10)(request)
    assert allocate(second, 20, start=50_000)(request) is OutcomeResult.APPLIED
    assert request.status is Status.ALLOCATED
    assert request.allocation_id == second
    assert request.lines[0].allocated_ranges == (SerialRange(50_000, 51_199),)
    assert allocate(first, 10)(request) is OutcomeResult.STALE  # the old one arriving again


def _saga() -> list[Outcome]:
    first, second = uuid.uuid4(), uuid.uuid4()
    # inventory's own order: waiting, allocated, revoked (waiting), allocated again
    return [wait(10, 5), allocate(first, 20), wait(30, 3), allocate(second, 40, start=70_000)]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))), ids=str)
def test_any_arrival_order_ends_in_the_newest_decision(order: Sequence[int]) -> None:
    outcomes = _saga()
    request = in_state(Status.APPROVED)
    for index in order:
        outcomes[index](request)
    for index in order:  # and everything re-delivered once more
        assert outcomes[index](request) in (OutcomeResult.DUPLICATE, OutcomeResult.STALE)
    assert request.status is Status.ALLOCATED
    assert request.lines[0].allocated_ranges == (SerialRange(70_000, 71_199),)
    assert request.outcome_as_of == T0 + _t(40)
    assert request.version == len(request.history)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))), ids=str)
def test_a_late_revocation_wins_in_any_order(order: Sequence[int]) -> None:
    outcomes = [wait(10, 5), allocate(uuid.uuid4(), 20), wait(30, 2)]
    request = in_state(Status.APPROVED)
    for index in order:
        outcomes[index](request)
    assert request.status is Status.WAITING_FOR_STOCK
    assert [line.shortfall for line in request.lines] == [2, 2]


def test_outcomes_after_receipt() -> None:
    request = in_state(Status.APPROVED)
    allocation = uuid.uuid4()
    allocate(allocation, 10)(request)
    request.confirm_receipt(unit_actor(request.unit_code))
    before = request.to_snapshot()
    assert allocate(allocation, 10)(request) is OutcomeResult.DUPLICATE
    assert wait(99)(request) is OutcomeResult.STALE
    assert allocate(uuid.uuid4(), 5)(request) is OutcomeResult.STALE
    assert request.to_snapshot() == before
    with pytest.raises(AllocationConflict) as info:
        allocate(uuid.uuid4(), 50)(request)
    assert info.value.code == "request.allocation_conflict"
    assert info.value.current_state == "received"
    request.close(officer())
    assert allocate(allocation, 10)(request) is OutcomeResult.DUPLICATE


def test_approval_revision_orders_outcomes() -> None:
    request = in_state(Status.APPROVED)
    assert request.approval_revision == 1
    request.approval_revision = 2  # as if re-approved (not in the workflow yet)
    assert allocate(uuid.uuid4(), 50, revision=1)(request) is OutcomeResult.STALE
    assert wait(50, revision=1)(request) is OutcomeResult.STALE
    with pytest.raises(AllocationMismatch):
        allocate(uuid.uuid4(), 50, revision=3)(request)
    with pytest.raises(AllocationMismatch):
        wait(50, revision=0)(request)
    assert allocate(uuid.uuid4(), 50, revision=2)(request) is OutcomeResult.APPLIED


@pytest.mark.parametrize(
    "make_ranges",
    [
        pytest.param(lambda r: {uuid.uuid4(): [SerialRange(1, 10)]}, id="unknown-line"),
        pytest.param(lambda r: {r.lines[0].id: [SerialRange(1, 1199)]}, id="too-few"),
        pytest.param(lambda r: {r.lines[0].id: [SerialRange(1, 600), SerialRange(600, 1199)]}, id="overlapping"),
        pytest.param(lambda r: {r.lines[0].id: [SerialRange(1, 1200)]}, id="line-missing"),
        pytest.param(lambda r: {r.lines[0].id: ["1-1200"]}, id="not-a-range"),
    ],
)
def test_allocation_must_fit_the_approval(make_ranges: Callable[[Request], object]) -> None:
    request = in_state(Status.APPROVED)
    before = request.to_snapshot()
    with pytest.raises(AllocationMismatch) as info:
        request.mark_allocated(uuid.uuid4(), make_ranges(request), as_of=T0 + _t(1))  # type: ignore[arg-type]
    assert info.value.code == "request.allocation_mismatch"
    assert request.to_snapshot() == before


def test_allocation_accepts_split_ranges_and_sorts_them() -> None:
    request = in_state(Status.SUBMITTED)
    first, second = request.lines
    request.approve(officer(), approved_quantities={second.id: 0})
    ranges = {first.id: [SerialRange(501, 1200), SerialRange(1, 500)], second.id: []}
    assert request.mark_allocated(uuid.uuid4(), ranges, as_of=T0 + _t(1)) is OutcomeResult.APPLIED
    assert request.lines[0].allocated_ranges == (SerialRange(1, 500), SerialRange(501, 1200))
    assert request.lines[1].allocated_ranges == ()


def test_ranges_for_a_line_approved_at_zero_are_a_mismatch() -> None:
    request = in_state(Status.SUBMITTED)
    first, second = request.lines
    request.approve(officer(), approved_quantities={second.id: 0})
    ranges = {first.id: [SerialRange(1, 1200)], second.id: [SerialRange(2000, 2000)]}
    with pytest.raises(AllocationMismatch):
        request.mark_allocated(uuid.uuid4(), ranges, as_of=T0 + _t(1))


@pytest.mark.parametrize(
    "make_shortfall",
    [
        pytest.param(lambda r: {uuid.uuid4(): 1}, id="unknown-line"),
        pytest.param(lambda r: {r.lines[0].id: -1}, id="negative"),
        pytest.param(lambda r: {r.lines[0].id: 1201}, id="above-approved"),
        pytest.param(lambda r: {r.lines[0].id: 0}, id="nothing-short"),
        pytest.param(lambda r: {}, id="empty"),
    ],
)
def test_shortfall_must_fit_the_approval(make_shortfall: Callable[[Request], dict[uuid.UUID, int]]) -> None:
    request = in_state(Status.APPROVED)
    with pytest.raises(AllocationMismatch):
        request.mark_waiting_for_stock(make_shortfall(request), as_of=T0 + _t(1))
    assert request.status is Status.APPROVED


def test_serial_range_values() -> None:
    assert SerialRange(5, 5).count == 1
    assert SerialRange(1, 10).overlaps(SerialRange(10, 20))
    assert not SerialRange(1, 10).overlaps(SerialRange(11, 20))
    for bad in ((5, 4), (-1, 3), (1, MAX_SERIAL + 1)):
        with pytest.raises(InvalidField, match="serial range"):
            SerialRange(*bad)
    with pytest.raises(InvalidField):
        SerialRange(1.0, 2)  # type: ignore[arg-type]
