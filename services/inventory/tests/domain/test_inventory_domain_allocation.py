"""Allocation on approval, the waiting queue, receipt and release."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from phoi_inventory.domain import (
    AllocatedLine,
    AllocationDelivered,
    AllocationNotCompletedError,
    AllocationRangesMismatchError,
    AllocationShort,
    AllocationStatus,
    BlankState,
    Block,
    ForbiddenMovementError,
    FormType,
    InvalidAllocationRequestError,
    LedgerReason,
    LineShortfall,
    MovementKind,
    PendingAllocation,
    PrintBatch,
    RangesAllocated,
    RequestedLine,
    SerialRange,
    StockKey,
    allocate,
    confirm_receipt,
    process_allocation_queue,
)


def pb(first: int, last: int, ft: str = "THPT", n: int = 1) -> PrintBatch:
    return PrintBatch(f"PB-{ft}-{n}", ft, SerialRange(first, last), "Printer", "HĐ-1", date(2025, 5, 1))


def req(alloc: str, unit: str, *lines: tuple[str, int], waiting: bool = False) -> PendingAllocation:
    return PendingAllocation(alloc, f"R-{alloc}", unit, tuple(RequestedLine(ft, q) for ft, q in lines), waiting=waiting)


def test_500k_blanks_are_one_block_and_one_ledger_line(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(pb(1, 2_000_000), thpt, clock.qlcl())
    result = store.run_queue([req("A1", "SGD-HN", ("THPT", 500_000))], clock.system())
    (outcome,) = result.outcomes
    assert outcome.status is AllocationStatus.COMPLETED
    assert outcome.lines == (AllocatedLine(1, "THPT", 500_000, (SerialRange(1, 500_000),)),)
    assert result.change.added == (
        Block("THPT", SerialRange(1, 500_000), BlankState.ALLOCATED, "SGD-HN", "A1"),
        Block("THPT", SerialRange(500_001, 2_000_000), BlankState.CENTRAL),
    )
    (line,) = store.ledger[-1:]
    assert (line.kind, line.reason, line.document_ref) == (MovementKind.ALLOCATE, LedgerReason.ALLOCATED, "R-A1")
    assert line.balance_after == 1_500_000
    assert result.change.events == (RangesAllocated("A1", "R-A1", "SGD-HN", outcome.lines),)


def test_lowest_serials_first_across_several_ranges(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(pb(1, 100), thpt, clock.qlcl())
    store.print_batch(pb(201, 300, n=2), thpt, clock.qlcl())
    store.run_queue([req("A1", "U1", ("THPT", 30))], clock.system())
    result = store.run_queue([req("A2", "U2", ("THPT", 100))], clock.system())
    assert result.outcomes[0].lines[0].ranges == (SerialRange(31, 100), SerialRange(201, 230))


def test_multi_line_all_or_nothing(store: Any, clock: Any, form_type_factory: Any) -> None:
    a, b = form_type_factory("THPT", "TH"), form_type_factory("THCS", "CS")
    store.print_batch(pb(1, 100), a, clock.qlcl())
    store.print_batch(pb(1, 10, ft="THCS"), b, clock.qlcl())
    before = store.sorted_blocks()
    result = store.run_queue([req("A1", "U1", ("THPT", 50), ("THCS", 20))], clock.system())
    (outcome,) = result.outcomes
    assert outcome.status is AllocationStatus.WAITING_FOR_STOCK
    assert outcome.shortfall == (LineShortfall(2, "THCS", 20, 10),)
    assert outcome.shortfall[0].missing == 10
    assert store.sorted_blocks() == before
    assert result.change.events == (AllocationShort("A1", "R-A1", "U1", outcome.shortfall),)
    assert result.change.movements == ()


def test_two_lines_of_one_form_type(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(pb(1, 100), thpt, clock.qlcl())
    result = store.run_queue([req("A1", "U1", ("THPT", 10), ("THPT", 5))], clock.system())
    lines = result.outcomes[0].lines
    assert [ln.ranges for ln in lines] == [(SerialRange(1, 10),), (SerialRange(11, 15),)]
    assert Block("THPT", SerialRange(1, 15), BlankState.ALLOCATED, "U1", "A1") in store.blocks


def test_waiting_completes_oldest_first_when_stock_arrives(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(pb(1, 10), thpt, clock.qlcl())
    r1 = store.run_queue([req("A1", "U1", ("THPT", 30))], clock.system())
    assert r1.outcomes[0].status is AllocationStatus.WAITING_FOR_STOCK
    queue = [req("A1", "U1", ("THPT", 30), waiting=True), req("A2", "U2", ("THPT", 5))]
    r2 = store.run_queue(queue, clock.system())
    # A2 could be served from the 10 in stock, but A1 is older and reserves them
    assert [o.status for o in r2.outcomes] == [AllocationStatus.WAITING_FOR_STOCK] * 2
    assert r2.outcomes[1].shortfall == (LineShortfall(1, "THPT", 5, 0),)
    # A1 already known to wait: only A2's waiting event
    assert [type(e) for e in r2.change.events] == [AllocationShort]
    store.print_batch(pb(11, 40, n=2), thpt, clock.qlcl())
    queue = [req("A1", "U1", ("THPT", 30), waiting=True), req("A2", "U2", ("THPT", 5), waiting=True)]
    r3 = store.run_queue(queue, clock.system())
    assert [o.status for o in r3.outcomes] == [AllocationStatus.COMPLETED, AllocationStatus.COMPLETED]
    assert r3.outcomes[0].lines[0].ranges == (SerialRange(1, 30),)
    assert r3.outcomes[1].lines[0].ranges == (SerialRange(31, 35),)


def test_reservation_only_blocks_the_same_form_type(store: Any, clock: Any, form_type_factory: Any) -> None:
    a, b = form_type_factory("THPT", "TH"), form_type_factory("THCS", "CS")
    store.print_batch(pb(1, 10), a, clock.qlcl())
    store.print_batch(pb(1, 10, ft="THCS"), b, clock.qlcl())
    queue = [req("A1", "U1", ("THPT", 50)), req("A2", "U2", ("THCS", 10))]
    result = store.run_queue(queue, clock.system())
    assert [o.status for o in result.outcomes] == [AllocationStatus.WAITING_FOR_STOCK, AllocationStatus.COMPLETED]


def test_receipt_moves_allocated_ranges_to_the_unit(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(pb(1, 100), thpt, clock.qlcl())
    o1 = store.run_queue([req("A1", "U1", ("THPT", 10))], clock.system()).outcomes[0]
    o2 = store.run_queue([req("A2", "U1", ("THPT", 10))], clock.system()).outcomes[0]
    store.receive(o1, clock.unit("U1"))
    change = store.receive(o2, clock.unit("U1"))
    # the two receipts merge into one at_unit block
    assert Block("THPT", SerialRange(1, 20), BlankState.AT_UNIT, "U1") in store.blocks
    assert change.events == (AllocationDelivered("A2", "R-A2", "U1", o2.lines),)
    (line,) = change.movements
    assert (line.from_state, line.to_state, line.allocation_id) == (BlankState.ALLOCATED, BlankState.AT_UNIT, "A2")
    assert line.balance_after == 20
    assert store.balances[StockKey("THPT", "U1")] == 20
    assert store.balances[StockKey("THPT", None)] == 80


def test_receipt_is_all_or_nothing(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(pb(1, 100), thpt, clock.qlcl())
    o1 = store.run_queue([req("A1", "U1", ("THPT", 10))], clock.system()).outcomes[0]
    store.receive(o1, clock.unit("U1"))
    with pytest.raises(AllocationRangesMismatchError) as exc:
        store.receive(o1, clock.unit("U1"))
    assert exc.value.serials == SerialRange(1, 10)
    assert exc.value.code == "allocation_ranges_mismatch"


def test_receipt_by_another_unit_is_forbidden(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(pb(1, 100), thpt, clock.qlcl())
    o1 = store.run_queue([req("A1", "U1", ("THPT", 10))], clock.system()).outcomes[0]
    with pytest.raises(ForbiddenMovementError):
        store.receive(o1, clock.unit("U2"))
    with pytest.raises(ForbiddenMovementError):
        store.receive(o1, clock.qlcl())
    store.receive(o1, clock.system())


def test_receipt_of_waiting_allocation_refused(clock: Any) -> None:
    waiting = process_allocation_queue([req("A1", "U1", ("THPT", 10))], [], clock.system()).outcomes[0]
    with pytest.raises(AllocationNotCompletedError):
        confirm_receipt(waiting, [], clock.unit("U1"))


def test_release_returns_to_central_and_merges(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(pb(1, 100), thpt, clock.qlcl())
    o1 = store.run_queue([req("A1", "U1", ("THPT", 10))], clock.system()).outcomes[0]
    store.release(o1, clock.qlcl())
    assert store.sorted_blocks() == [Block("THPT", SerialRange(1, 100), BlankState.CENTRAL)]
    assert store.ledger[-1].reason is LedgerReason.ALLOCATION_RELEASED
    with pytest.raises(ForbiddenMovementError):
        store.release(o1, clock.unit("U1"))


def test_units_cannot_allocate(clock: Any) -> None:
    with pytest.raises(ForbiddenMovementError):
        allocate(req("A1", "U1", ("THPT", 1)), [], clock.unit("U1"))


def test_invalid_requests() -> None:
    with pytest.raises(InvalidAllocationRequestError):
        RequestedLine("THPT", 0)
    with pytest.raises(InvalidAllocationRequestError):
        PendingAllocation("A", "R", "U", ())
    with pytest.raises(InvalidAllocationRequestError):
        PendingAllocation("", "R", "U", (RequestedLine("THPT", 1),))


def test_duplicate_queue_entries_refused(clock: Any) -> None:
    with pytest.raises(InvalidAllocationRequestError):
        process_allocation_queue([req("A1", "U1", ("THPT", 1)), req("A1", "U1", ("THPT", 1))], [], clock.system())


def test_allocation_loads_only_what_it_needs(store: Any, clock: Any, thpt: FormType) -> None:
    for n in range(50):
        store.print_batch(pb(n * 100 + 1, n * 100 + 50, n=n), thpt, clock.qlcl())
    store.loads.clear()
    store.run_queue([req("A1", "U1", ("THPT", 120))], clock.system())
    assert store.loads == [3]
