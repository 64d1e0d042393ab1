"""Blocks, Change composition, balances and ledger replay."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from phoi_inventory.domain import (
    BlankState,
    Block,
    Change,
    FormType,
    InvariantViolationError,
    MovementKind,
    MovementRequest,
    PendingAllocation,
    PrintBatch,
    RequestedLine,
    SerialRange,
    StockKey,
    apply_change,
    check_partition,
    merge_adjacent,
    process_allocation_queue,
    receive_print_batch,
    replay_ledger,
    serial_history,
    stamp_balances,
)

S = BlankState


def test_block_invariants() -> None:
    with pytest.raises(InvariantViolationError):
        Block("THPT", SerialRange(1, 2), S.CENTRAL, "U1")
    with pytest.raises(InvariantViolationError):
        Block("THPT", SerialRange(1, 2), S.ALLOCATED, "U1")
    with pytest.raises(InvariantViolationError):
        Block("THPT", SerialRange(1, 2), S.AT_UNIT, "U1", "A1")
    with pytest.raises(InvariantViolationError):
        Block("THPT", SerialRange(1, 2), S.USED)
    assert Block("THPT", SerialRange(1, 2), S.SPOILED).holder_unit is None


def test_merge_and_partition_checks() -> None:
    a = Block("THPT", SerialRange(1, 5), S.CENTRAL)
    b = Block("THPT", SerialRange(6, 9), S.CENTRAL)
    c = Block("THPT", SerialRange(10, 12), S.AT_UNIT, "U1")
    assert merge_adjacent([c, b, a]) == (Block("THPT", SerialRange(1, 9), S.CENTRAL), c)
    with pytest.raises(InvariantViolationError):
        check_partition([a, b])
    with pytest.raises(InvariantViolationError):
        check_partition([a, Block("THPT", SerialRange(5, 6), S.USED, "U1")])
    check_partition([a, c, Block("THCS", SerialRange(6, 9), S.CENTRAL)])


def test_change_then_composes(clock: Any, thpt: FormType) -> None:
    c1 = receive_print_batch(
        PrintBatch("PB", "THPT", SerialRange(1, 100), "P", "C", date(2025, 1, 1)), thpt, [], clock.qlcl()
    )
    blocks1 = apply_change([], c1)
    pending = PendingAllocation("A", "R", "U1", (RequestedLine("THPT", 10),))
    c2 = process_allocation_queue([pending], blocks1, clock.system()).change
    both = c1.then(c2)
    assert both.removed == ()
    assert apply_change([], both) == apply_change(blocks1, c2)
    assert both.movements == c1.movements + c2.movements
    assert Change().is_empty
    assert not both.is_empty


def test_apply_change_checks(thpt: FormType) -> None:
    a = Block("THPT", SerialRange(1, 5), S.CENTRAL)
    with pytest.raises(InvariantViolationError):
        apply_change([], Change(removed=(a,)))
    with pytest.raises(InvariantViolationError):
        apply_change([a], Change(added=(Block("THPT", SerialRange(5, 6), S.CENTRAL),)))


def test_balances_are_stamped_per_custodian(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(PrintBatch("PB", "THPT", SerialRange(1, 100), "P", "C", date(2025, 1, 1)), thpt, clock.qlcl())
    outcome = store.run_queue([PendingAllocation("A", "R", "U1", (RequestedLine("THPT", 30),))], clock.system())
    store.receive(outcome.outcomes[0], clock.unit("U1"))
    store.move(MovementRequest.of_serials(MovementKind.SPOIL, "THPT", [2, 4]), thpt, clock.unit("U1"))
    store.move(
        MovementRequest.of_serials(MovementKind.DESTROY, "THPT", [2, 4], document_ref="BBH"), thpt, clock.unit("U1")
    )
    got = [(m.kind.value, m.balance_after) for m in store.ledger]
    assert got == [
        ("receive_print", 100),
        ("allocate", 70),
        ("receive", 30),
        ("spoil", 29),
        ("spoil", 28),
        ("destroy", None),
        ("destroy", None),
    ]
    assert store.balances == {StockKey("THPT", None): 70, StockKey("THPT", "U1"): 28}


def test_stamp_balances_needs_every_opening(store: Any, clock: Any, thpt: FormType) -> None:
    c = receive_print_batch(
        PrintBatch("PB", "THPT", SerialRange(1, 100), "P", "C", date(2025, 1, 1)), thpt, [], clock.qlcl()
    )
    with pytest.raises(InvariantViolationError):
        stamp_balances(c.movements, {})
    neg = replace(c.movements[0], from_state=S.CENTRAL, to_state=S.SPOILED)
    with pytest.raises(InvariantViolationError):
        stamp_balances([neg], {StockKey("THPT", None): 5})


def test_replay_reproduces_blocks_and_history(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(PrintBatch("PB", "THPT", SerialRange(1, 100), "P", "C", date(2025, 1, 1)), thpt, clock.qlcl())
    outcome = store.run_queue([PendingAllocation("A", "R", "U1", (RequestedLine("THPT", 30),))], clock.system())
    store.receive(outcome.outcomes[0], clock.unit("U1"))
    store.move(MovementRequest.of_serials(MovementKind.RETURN, "THPT", [SerialRange(5, 9)]), thpt, clock.unit("U1"))
    store.move(
        MovementRequest.of_serials(MovementKind.RECEIVE_RETURN, "THPT", [7], holder_unit="U1"), thpt, clock.qlcl()
    )
    assert list(replay_ledger(store.ledger)) == store.sorted_blocks()
    history = serial_history(store.ledger, "THPT", 7)
    assert [m.kind for m in history] == [
        MovementKind.RECEIVE_PRINT,
        MovementKind.ALLOCATE,
        MovementKind.RECEIVE,
        MovementKind.RETURN,
        MovementKind.RECEIVE_RETURN,
    ]
    assert serial_history(store.ledger, "THPT", 50)[-1].kind is MovementKind.RECEIVE_PRINT


def test_replay_detects_a_corrupt_ledger(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(PrintBatch("PB", "THPT", SerialRange(1, 100), "P", "C", date(2025, 1, 1)), thpt, clock.qlcl())
    line = store.ledger[0]
    with pytest.raises(InvariantViolationError):
        replay_ledger([line, line])
    bogus = replace(line, from_state=S.AT_UNIT, from_holder="U1", to_state=S.USED, to_holder="U1")
    with pytest.raises(InvariantViolationError):
        replay_ledger([line, bogus])
    with pytest.raises(InvariantViolationError):
        replay_ledger([bogus])
