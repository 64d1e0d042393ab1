"""Print batches into the central stock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from phoi_inventory.domain import (
    BlankState,
    Block,
    ForbiddenMovementError,
    FormType,
    InactiveFormTypeError,
    InvalidPrintBatchError,
    LedgerReason,
    MovementKind,
    PrintBatch,
    PrintBatchOverlapError,
    PrintBatchStocked,
    SerialFormatError,
    SerialRange,
    receive_print_batch,
)


def batch(first: int, last: int, ft: str = "THPT", batch_id: str = "PB-1") -> PrintBatch:
    return PrintBatch(batch_id, ft, SerialRange(first, last), "Nhà in Tiến Bộ", "HĐ-12/2025", date(2025, 5, 2))


def test_batch_enters_central_stock_as_one_block(store: Any, clock: Any, thpt: FormType) -> None:
    change = store.print_batch(batch(1, 1_000_000), thpt, clock.qlcl())
    assert change.removed == ()
    assert change.added == (Block("THPT", SerialRange(1, 1_000_000), BlankState.CENTRAL),)
    (line,) = change.movements
    assert line.kind is MovementKind.RECEIVE_PRINT
    assert line.reason is LedgerReason.PRINT_BATCH_RECEIVED
    assert line.from_state is None
    assert line.to_state is BlankState.CENTRAL
    assert line.document_ref == "HĐ-12/2025"
    assert line.balance_after == 1_000_000
    assert change.events == (
        PrintBatchStocked("PB-1", "THPT", SerialRange(1, 1_000_000), "Nhà in Tiến Bộ", "HĐ-12/2025"),
    )


def test_adjacent_batch_merges_with_central_block(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(batch(101, 200), thpt, clock.qlcl())
    store.print_batch(batch(1, 100, batch_id="PB-2"), thpt, clock.qlcl())
    store.print_batch(batch(201, 300, batch_id="PB-3"), thpt, clock.qlcl())
    assert store.sorted_blocks() == [Block("THPT", SerialRange(1, 300), BlankState.CENTRAL)]
    assert store.ledger[-1].balance_after == 300


@pytest.mark.parametrize(
    ("first", "last", "conflict"),
    [(50, 150, SerialRange(100, 150)), (150, 250, SerialRange(150, 200)), (90, 110, SerialRange(100, 110))],
)
def test_overlap_is_refused_naming_the_conflict(
    store: Any, clock: Any, thpt: FormType, first: int, last: int, conflict: SerialRange
) -> None:
    store.print_batch(batch(100, 200), thpt, clock.qlcl())
    before = store.sorted_blocks()
    with pytest.raises(PrintBatchOverlapError) as exc:
        store.print_batch(batch(first, last, batch_id="PB-2"), thpt, clock.qlcl())
    assert exc.value.conflict == conflict
    assert exc.value.code == "print_batch_overlap"
    assert exc.value.details()["conflict"] == {"first": conflict.first, "last": conflict.last, "count": conflict.count}
    assert store.sorted_blocks() == before


def test_reused_serials_of_destroyed_blanks_are_refused(clock: Any, thpt: FormType) -> None:
    destroyed = Block("THPT", SerialRange(1, 10), BlankState.DESTROYED)
    with pytest.raises(PrintBatchOverlapError) as exc:
        receive_print_batch(batch(5, 20), thpt, [destroyed], clock.qlcl())
    assert exc.value.conflict == SerialRange(5, 10)


def test_conflict_spans_adjacent_blocks(clock: Any, thpt: FormType) -> None:
    blocks = [
        Block("THPT", SerialRange(1, 10), BlankState.CENTRAL),
        Block("THPT", SerialRange(11, 20), BlankState.AT_UNIT, "SGD-HN"),
    ]
    with pytest.raises(PrintBatchOverlapError) as exc:
        receive_print_batch(batch(5, 30), thpt, blocks, clock.qlcl())
    assert exc.value.conflict == SerialRange(5, 20)


def test_other_form_types_do_not_conflict(store: Any, clock: Any, form_type_factory: Callable[..., FormType]) -> None:
    a = form_type_factory("THPT", "TH")
    b = form_type_factory("THCS", "CS")
    store.print_batch(batch(1, 100), a, clock.qlcl())
    store.print_batch(batch(1, 100, ft="THCS", batch_id="PB-2"), b, clock.qlcl())
    assert len(store.blocks) == 2


def test_inactive_form_type_refused(clock: Any, thpt: FormType) -> None:
    with pytest.raises(InactiveFormTypeError) as exc:
        receive_print_batch(batch(1, 10), thpt.deactivated(), [], clock.qlcl())
    assert exc.value.code == "form_type_inactive"


def test_serials_beyond_the_format_refused(clock: Any, thpt: FormType) -> None:
    with pytest.raises(SerialFormatError):
        receive_print_batch(batch(9_999_990, 10_000_010), thpt, [], clock.qlcl())
    with pytest.raises(SerialFormatError):
        receive_print_batch(batch(0, 10), thpt, [], clock.qlcl())


def test_only_qlcl_records_batches(clock: Any, thpt: FormType) -> None:
    with pytest.raises(ForbiddenMovementError):
        receive_print_batch(batch(1, 10), thpt, [], clock.unit("SGD-HN"))
    with pytest.raises(ForbiddenMovementError):
        receive_print_batch(batch(1, 10), thpt, [], clock.system())


def test_batch_fields_are_required_and_match(clock: Any, thpt: FormType) -> None:
    with pytest.raises(InvalidPrintBatchError) as exc:
        PrintBatch("PB", "THPT", SerialRange(1, 2), " ", "HĐ", date(2025, 1, 1))
    assert exc.value.field == "printer"
    with pytest.raises(InvalidPrintBatchError):
        PrintBatch("PB", "THPT", SerialRange(1, 2), "P", "", date(2025, 1, 1))
    with pytest.raises(InvalidPrintBatchError):
        receive_print_batch(batch(1, 10, ft="THCS"), thpt, [], clock.qlcl())
