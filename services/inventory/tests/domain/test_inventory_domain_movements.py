"""Movements recorded by units and QLCL: use, spoil, lose, destroy, return, receive back."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from phoi_inventory.domain import (
    BlanksMoved,
    BlankState,
    Block,
    DocumentRequiredError,
    DuplicateRegisterEntriesError,
    DuplicateSerialsError,
    EmptyRequestError,
    ForbiddenMovementError,
    FormType,
    InvalidRegisterEntriesError,
    InvariantViolationError,
    LedgerReason,
    MovementItem,
    MovementKind,
    MovementRequest,
    PendingAllocation,
    PrintBatch,
    ReasonNotAllowedError,
    RequestedLine,
    SerialFormatError,
    SerialRange,
    SerialsNotHeldError,
    StockKey,
    UnsupportedMovementKindError,
    WrongStateError,
    normalise_items,
    record_movement,
)

K = MovementKind
S = BlankState


@pytest.fixture
def stocked(store: Any, clock: Any, thpt: FormType) -> Any:
    """1..1000 printed; 1..500 at unit U1; 501..600 at U2; the rest central."""
    store.print_batch(
        PrintBatch("PB-1", "THPT", SerialRange(1, 1000), "Printer", "HĐ-1", date(2025, 5, 1)), thpt, clock.qlcl()
    )
    for alloc, unit, q in (("A1", "U1", 500), ("A2", "U2", 100)):
        pending = PendingAllocation(alloc, f"R-{alloc}", unit, (RequestedLine("THPT", q),))
        outcome = store.run_queue([pending], clock.system()).outcomes[0]
        store.receive(outcome, clock.unit(unit))
    return store


def move(kind: MovementKind, serials: list[int | SerialRange], **kw: Any) -> MovementRequest:
    return MovementRequest.of_serials(kind, "THPT", serials, **kw)


def uses(*items: tuple[int, int, int]) -> MovementRequest:
    return MovementRequest(K.USE, "THPT", tuple(MovementItem(SerialRange(a, b), e) for a, b, e in items))


def state_of(store: Any, serial: int) -> tuple[BlankState, str | None]:
    (b,) = [b for b in store.blocks if serial in b.serials]
    return b.state, b.holder_unit


# ----------------------------------------------------------------------------- happy paths


def test_use_with_register_entries(stocked: Any, clock: Any, thpt: FormType) -> None:
    change = stocked.move(uses((10, 19, 1001), (20, 29, 1011), (40, 40, 7)), thpt, clock.unit("U1"))
    lines = [(m.serials, m.register_entry_first, m.balance_after) for m in change.movements]
    assert lines == [(SerialRange(10, 29), 1001, 480), (SerialRange(40, 40), 7, 479)]
    assert change.movements[0].register_entries == SerialRange(1001, 1020)
    assert all(m.reason is LedgerReason.ISSUED for m in change.movements)
    assert state_of(stocked, 15) == (S.USED, "U1")
    assert stocked.balances[StockKey("THPT", "U1")] == 479
    (event,) = change.events
    assert event == BlanksMoved(
        change.movements[0].operation_id,
        K.USE,
        "THPT",
        "U1",
        S.USED,
        (SerialRange(10, 29), SerialRange(40, 40)),
        21,
        None,
    )


def test_thousands_of_single_serials_in_one_batch(stocked: Any, clock: Any, thpt: FormType) -> None:
    serials: list[int | SerialRange] = list(range(500, 0, -2))  # 250 scattered serials, unsorted
    change = stocked.move(move(K.SPOIL, serials), thpt, clock.unit("U1"))
    assert len(change.movements) == 250
    assert sum(m.quantity for m in change.movements) == 250
    assert all(m.reason is LedgerReason.SPOILED_DAMAGED for m in change.movements)
    # adjacent singles merge into one range
    change = stocked.move(move(K.SPOIL, [1, 3, 5, 7]), thpt, clock.unit("U1"))
    assert [m.serials for m in change.movements] == [
        SerialRange(1, 1),
        SerialRange(3, 3),
        SerialRange(5, 5),
        SerialRange(7, 7),
    ]
    assert [b.serials for b in stocked.sorted_blocks() if b.state is S.SPOILED][:1] == [SerialRange(1, 8)]


def test_spoil_with_typed_reason(stocked: Any, clock: Any, thpt: FormType) -> None:
    change = stocked.move(move(K.SPOIL, [5], reason=LedgerReason.SPOILED_MISWRITTEN), thpt, clock.unit("U1"))
    assert change.movements[0].reason is LedgerReason.SPOILED_MISWRITTEN


def test_lose_requires_police_report(stocked: Any, clock: Any, thpt: FormType) -> None:
    with pytest.raises(DocumentRequiredError) as exc:
        stocked.move(move(K.LOSE, [5]), thpt, clock.unit("U1"))
    assert exc.value.code == "document_required"
    assert exc.value.details() == {"kind": "lose", "document": "police_report"}
    with pytest.raises(DocumentRequiredError):
        stocked.move(move(K.LOSE, [5], document_ref="  "), thpt, clock.unit("U1"))
    change = stocked.move(move(K.LOSE, [5], document_ref="CA-Q1/2025/17"), thpt, clock.unit("U1"))
    assert change.movements[0].document_ref == "CA-Q1/2025/17"
    assert state_of(stocked, 5) == (S.LOST, "U1")


def test_destroy_only_spoiled_or_obsolete(stocked: Any, clock: Any, thpt: FormType) -> None:
    with pytest.raises(DocumentRequiredError):
        stocked.move(move(K.DESTROY, [5]), thpt, clock.unit("U1"))
    with pytest.raises(WrongStateError) as exc:
        stocked.move(move(K.DESTROY, [5], document_ref="BBH-1"), thpt, clock.unit("U1"))
    assert exc.value.state is S.AT_UNIT
    assert exc.value.allowed == (S.SPOILED,)
    stocked.move(move(K.SPOIL, [SerialRange(5, 9)]), thpt, clock.unit("U1"))
    change = stocked.move(move(K.DESTROY, [SerialRange(5, 9)], document_ref="BBH-1"), thpt, clock.unit("U1"))
    assert change.movements[0].reason is LedgerReason.DESTROYED_SPOILED
    assert change.movements[0].balance_after is None
    # obsolete form type: blanks on hand may be destroyed too
    change = stocked.move(
        move(K.DESTROY, [SerialRange(1, 4), SerialRange(10, 20)], document_ref="BBH-2"),
        thpt.deactivated(),
        clock.unit("U1"),
    )
    assert [(m.serials, m.reason) for m in change.movements] == [
        (SerialRange(1, 4), LedgerReason.DESTROYED_OBSOLETE),
        (SerialRange(10, 20), LedgerReason.DESTROYED_OBSOLETE),
    ]
    assert Block("THPT", SerialRange(1, 20), S.DESTROYED, "U1") in stocked.blocks


def test_return_then_qlcl_receives_back_into_central(stocked: Any, clock: Any, thpt: FormType) -> None:
    stocked.move(move(K.RETURN, [SerialRange(491, 500)]), thpt, clock.unit("U1"))
    assert state_of(stocked, 495) == (S.RETURNED, "U1")
    with pytest.raises(ForbiddenMovementError):
        stocked.move(move(K.RECEIVE_RETURN, [SerialRange(491, 500)]), thpt, clock.unit("U1"))
    with pytest.raises(ForbiddenMovementError) as exc:  # QLCL must name whose returned blanks
        stocked.move(move(K.RECEIVE_RETURN, [SerialRange(491, 500)]), thpt, clock.qlcl())
    assert "holder_unit" in exc.value.reason
    with pytest.raises(SerialsNotHeldError):
        stocked.move(move(K.RECEIVE_RETURN, [SerialRange(491, 500)], holder_unit="U2"), thpt, clock.qlcl())
    change = stocked.move(move(K.RECEIVE_RETURN, [SerialRange(491, 500)], holder_unit="U1"), thpt, clock.qlcl())
    assert change.movements[0].to_holder is None
    assert state_of(stocked, 495) == (S.CENTRAL, None)
    assert stocked.balances[StockKey("THPT", None)] == 410


def test_qlcl_destroys_returned_blanks(stocked: Any, clock: Any, thpt: FormType) -> None:
    stocked.move(move(K.RETURN, [SerialRange(491, 500)]), thpt, clock.unit("U1"))
    change = stocked.move(
        move(K.DESTROY, [SerialRange(491, 500)], holder_unit="U1", document_ref="BBH-QLCL-1"), thpt, clock.qlcl()
    )
    assert change.movements[0].reason is LedgerReason.DESTROYED_RETURNED


def test_qlcl_spoils_and_destroys_in_central_stock(stocked: Any, clock: Any, thpt: FormType) -> None:
    stocked.move(move(K.SPOIL, [SerialRange(901, 910)], reason=LedgerReason.SPOILED_MISPRINTED), thpt, clock.qlcl())
    assert state_of(stocked, 905) == (S.SPOILED, None)
    with pytest.raises(WrongStateError) as exc:
        stocked.move(move(K.DESTROY, [SerialRange(901, 920)], document_ref="BBH-Q"), thpt, clock.qlcl())
    assert exc.value.serials == SerialRange(911, 920)
    assert exc.value.state is S.CENTRAL
    change = stocked.move(
        move(K.DESTROY, [SerialRange(901, 920)], document_ref="BBH-Q"), thpt.deactivated(), clock.qlcl()
    )
    assert [m.reason for m in change.movements] == [LedgerReason.DESTROYED_SPOILED, LedgerReason.DESTROYED_OBSOLETE]


# ----------------------------------------------------------------------------- errors


def test_serial_not_held_names_the_first_offender(stocked: Any, clock: Any, thpt: FormType) -> None:
    before = stocked.sorted_blocks()
    with pytest.raises(SerialsNotHeldError) as exc:
        stocked.move(move(K.SPOIL, [SerialRange(490, 510), 700, 3]), thpt, clock.unit("U1"))
    err = exc.value
    assert err.serials == SerialRange(501, 510)
    assert err.first_serial == 501
    assert err.code == "serials_not_held"
    assert err.details() == {
        "form_type": "THPT",
        "serials": {"first": 501, "last": 510, "count": 10, "first_label": "TH0000501", "last_label": "TH0000510"},
        "holder_unit": "U1",
    }
    assert "U2" not in err.detail  # never reveals the other holder
    assert stocked.sorted_blocks() == before


def test_unprinted_serials_are_not_held(stocked: Any, clock: Any, thpt: FormType) -> None:
    with pytest.raises(SerialsNotHeldError) as exc:
        stocked.move(move(K.SPOIL, [SerialRange(995, 1010)]), thpt, clock.qlcl())
    assert exc.value.serials == SerialRange(1001, 1010)


def test_wrong_state_names_the_first_offender(stocked: Any, clock: Any, thpt: FormType) -> None:
    stocked.move(uses((20, 24, 1)), thpt, clock.unit("U1"))
    with pytest.raises(WrongStateError) as exc:
        stocked.move(move(K.RETURN, [SerialRange(10, 30)]), thpt, clock.unit("U1"))
    assert exc.value.serials == SerialRange(20, 24)
    assert exc.value.state is S.USED
    assert exc.value.code == "serials_wrong_state"
    assert exc.value.details()["allowed_states"] == ["at_unit"]


def test_not_received_yet_is_wrong_state(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(PrintBatch("PB", "THPT", SerialRange(1, 10), "P", "C", date(2025, 1, 1)), thpt, clock.qlcl())
    store.run_queue([PendingAllocation("A", "R", "U1", (RequestedLine("THPT", 10),))], clock.system())
    with pytest.raises(WrongStateError) as exc:
        store.move(uses((1, 1, 1)), thpt, clock.unit("U1"))
    assert exc.value.state is S.ALLOCATED


def test_duplicates_within_a_batch(stocked: Any, clock: Any, thpt: FormType) -> None:
    with pytest.raises(DuplicateSerialsError) as exc:
        stocked.move(move(K.SPOIL, [7, SerialRange(1, 10), 300]), thpt, clock.unit("U1"))
    assert exc.value.overlap == SerialRange(7, 7)
    with pytest.raises(DuplicateSerialsError):
        stocked.move(move(K.SPOIL, [5, 5]), thpt, clock.unit("U1"))


def test_register_entry_rules(stocked: Any, clock: Any, thpt: FormType) -> None:
    with pytest.raises(InvalidRegisterEntriesError) as exc:
        stocked.move(move(K.USE, [5]), thpt, clock.unit("U1"))
    assert exc.value.code == "register_entries_invalid"
    with pytest.raises(InvalidRegisterEntriesError):
        stocked.move(MovementRequest(K.SPOIL, "THPT", (MovementItem(SerialRange(5, 5), 3),)), thpt, clock.unit("U1"))
    with pytest.raises(InvalidRegisterEntriesError):
        stocked.move(uses((5, 5, 0)), thpt, clock.unit("U1"))
    with pytest.raises(DuplicateRegisterEntriesError) as dup:
        stocked.move(uses((5, 9, 100), (20, 22, 104)), thpt, clock.unit("U1"))
    assert dup.value.overlap == SerialRange(104, 104)


def test_normalise_items_merges_only_continuing_entries() -> None:
    items = normalise_items(
        [MovementItem(SerialRange(6, 6), 11), MovementItem(SerialRange(1, 5), 6), MovementItem(SerialRange(7, 7), 50)]
    )
    assert items == (MovementItem(SerialRange(1, 6), 6), MovementItem(SerialRange(7, 7), 50))


def test_empty_request(stocked: Any, clock: Any, thpt: FormType) -> None:
    with pytest.raises(EmptyRequestError) as exc:
        stocked.move(move(K.SPOIL, []), thpt, clock.unit("U1"))
    assert exc.value.code == "request_empty"


def test_serials_beyond_format(stocked: Any, clock: Any, thpt: FormType) -> None:
    with pytest.raises(SerialFormatError):
        stocked.move(move(K.SPOIL, [10_000_000]), thpt, clock.unit("U1"))


def test_reason_must_fit_the_kind(stocked: Any, clock: Any, thpt: FormType) -> None:
    with pytest.raises(ReasonNotAllowedError) as exc:
        stocked.move(move(K.SPOIL, [5], reason=LedgerReason.LOST), thpt, clock.unit("U1"))
    assert exc.value.code == "reason_not_allowed"
    stocked.move(move(K.SPOIL, [5]), thpt, clock.unit("U1"))
    with pytest.raises(ReasonNotAllowedError) as exc2:
        stocked.move(
            move(K.DESTROY, [SerialRange(5, 6)], reason=LedgerReason.DESTROYED_SPOILED, document_ref="B"),
            thpt.deactivated(),
            clock.unit("U1"),
        )
    assert exc2.value.serials == SerialRange(6, 6)


def test_forbidden_movements(stocked: Any, clock: Any, thpt: FormType) -> None:
    with pytest.raises(ForbiddenMovementError) as exc:
        stocked.move(move(K.SPOIL, [550], holder_unit="U2"), thpt, clock.unit("U1"))
    assert exc.value.code == "movement_forbidden"
    with pytest.raises(ForbiddenMovementError):  # QLCL does not record a unit's use
        stocked.move(uses((5, 5, 1)), thpt, clock.qlcl())
    with pytest.raises(ForbiddenMovementError):  # QLCL does not spoil at a unit
        stocked.move(move(K.SPOIL, [5], holder_unit="U1"), thpt, clock.qlcl())
    with pytest.raises(ForbiddenMovementError):
        stocked.move(move(K.SPOIL, [5]), thpt, clock.system())


def test_unsupported_kind(stocked: Any, clock: Any, thpt: FormType) -> None:
    with pytest.raises(UnsupportedMovementKindError) as exc:
        stocked.move(move(K.ALLOCATE, [5]), thpt, clock.qlcl())
    assert exc.value.code == "movement_kind_unsupported"


def test_form_type_mismatch_is_a_bug(clock: Any, thpt: FormType) -> None:
    with pytest.raises(InvariantViolationError):
        record_movement(MovementRequest.of_serials(K.SPOIL, "THCS", [1]), [], thpt, clock.unit("U1"))


def test_overlapping_input_blocks_are_a_bug(clock: Any, thpt: FormType) -> None:
    blocks = [Block("THPT", SerialRange(1, 10), S.AT_UNIT, "U1"), Block("THPT", SerialRange(5, 20), S.USED, "U1")]
    with pytest.raises(InvariantViolationError):
        record_movement(move(K.SPOIL, [1]), blocks, thpt, clock.unit("U1"))


def test_cost_is_per_range(stocked: Any, clock: Any, thpt: FormType) -> None:
    stocked.loads.clear()
    change = stocked.move(move(K.SPOIL, [SerialRange(100, 400)]), thpt, clock.unit("U1"))
    assert stocked.loads == [1]
    assert len(change.removed) == 1
    assert len(change.added) == 3
    assert len(change.movements) == 1
