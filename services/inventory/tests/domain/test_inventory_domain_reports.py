"""Stock summaries and the usage report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from phoi_inventory.domain import (
    BlankState,
    Block,
    FormType,
    InvalidPeriodError,
    MovementItem,
    MovementKind,
    MovementRequest,
    PendingAllocation,
    PrintBatch,
    RangeTally,
    RequestedLine,
    SerialRange,
    StockLine,
    count_by_state,
    summarise_blocks,
    usage_report,
    usage_reports,
)

S = BlankState
K = MovementKind


def test_summarise_blocks() -> None:
    blocks = [
        Block("THPT", SerialRange(1, 10), S.ALLOCATED, "U1", "A1"),
        Block("THPT", SerialRange(11, 20), S.ALLOCATED, "U1", "A2"),
        Block("THPT", SerialRange(21, 30), S.CENTRAL),
        Block("THPT", SerialRange(31, 35), S.AT_UNIT, "U2"),
        Block("THPT", SerialRange(40, 45), S.AT_UNIT, "U1"),
        Block("THCS", SerialRange(1, 3), S.SPOILED),
    ]
    assert summarise_blocks(blocks) == (
        StockLine("THCS", S.SPOILED, None, 3, (SerialRange(1, 3),)),
        StockLine("THPT", S.CENTRAL, None, 10, (SerialRange(21, 30),)),
        StockLine("THPT", S.ALLOCATED, "U1", 20, (SerialRange(1, 20),)),
        StockLine("THPT", S.AT_UNIT, "U1", 6, (SerialRange(40, 45),)),
        StockLine("THPT", S.AT_UNIT, "U2", 5, (SerialRange(31, 35),)),
    )
    totals = summarise_blocks(blocks, by_holder=False)
    assert StockLine("THPT", S.AT_UNIT, None, 11, (SerialRange(31, 35), SerialRange(40, 45))) in totals
    counts = count_by_state(blocks, form_type="THPT")
    assert counts[S.AT_UNIT] == 11
    assert counts[S.LOST] == 0
    assert sum(counts.values()) == 41


def test_usage_report(store: Any, clock: Any, thpt: FormType) -> None:
    store.print_batch(PrintBatch("PB", "THPT", SerialRange(1, 1000), "P", "C", date(2025, 1, 1)), thpt, clock.qlcl())
    o1 = store.run_queue([PendingAllocation("A1", "R1", "U1", (RequestedLine("THPT", 100),))], clock.system())
    store.receive(o1.outcomes[0], clock.unit("U1"))
    store.move(
        MovementRequest(K.USE, "THPT", (MovementItem(SerialRange(1, 10), 1),)), thpt, clock.unit("U1")
    )  # before the period
    start = store.ledger[-1].at + timedelta(seconds=1)
    clock.n += 10
    o2 = store.run_queue([PendingAllocation("A2", "R2", "U1", (RequestedLine("THPT", 50),))], clock.system())
    store.receive(o2.outcomes[0], clock.unit("U1"))  # 101..150
    store.move(MovementRequest(K.USE, "THPT", (MovementItem(SerialRange(11, 30), 11),)), thpt, clock.unit("U1"))
    store.move(MovementRequest.of_serials(K.SPOIL, "THPT", [31, 33]), thpt, clock.unit("U1"))
    store.move(MovementRequest.of_serials(K.DESTROY, "THPT", [31], document_ref="BBH"), thpt, clock.unit("U1"))
    store.move(MovementRequest.of_serials(K.LOSE, "THPT", [40], document_ref="CA"), thpt, clock.unit("U1"))
    store.move(MovementRequest.of_serials(K.RETURN, "THPT", [SerialRange(141, 150)]), thpt, clock.unit("U1"))
    store.move(
        MovementRequest.of_serials(K.RECEIVE_RETURN, "THPT", [SerialRange(141, 150)], holder_unit="U1"),
        thpt,
        clock.qlcl(),
    )
    store.move(
        MovementRequest.of_serials(K.DESTROY, "THPT", [SerialRange(41, 42)], document_ref="BBH2"),
        thpt.deactivated(),
        clock.unit("U1"),
    )
    end = store.ledger[-1].at + timedelta(seconds=1)
    clock.n += 10
    store.move(MovementRequest.of_serials(K.SPOIL, "THPT", [99]), thpt, clock.unit("U1"))  # after the period

    report = usage_report(store.ledger, unit="U1", form_type="THPT", period_start=start, period_end=end)
    assert report.opening == RangeTally(90, (SerialRange(11, 100),))
    assert report.received == RangeTally(50, (SerialRange(101, 150),))
    assert report.used == RangeTally(20, (SerialRange(11, 30),))
    assert report.spoiled == RangeTally(2, (SerialRange(31, 31), SerialRange(33, 33)))
    assert report.lost == RangeTally(1, (SerialRange(40, 40),))
    assert report.destroyed == RangeTally(3, (SerialRange(31, 31), SerialRange(41, 42)))
    assert report.destroyed_obsolete == RangeTally(2, (SerialRange(41, 42),))
    assert report.returned == RangeTally(10, (SerialRange(141, 150),))
    assert report.closing == RangeTally(105, (SerialRange(32, 32), SerialRange(34, 39), SerialRange(43, 140)))
    assert report.reconciles
    (only,) = usage_reports(store.ledger, unit="U1", period_start=start, period_end=end)
    assert only == report
    empty = usage_report(store.ledger, unit="U9", form_type="THPT", period_start=start, period_end=end)
    assert empty.opening.count == 0
    assert empty.closing.count == 0


def test_usage_report_period_must_be_forward(clock: Any) -> None:
    t = clock.qlcl().at
    with pytest.raises(InvalidPeriodError) as exc:
        usage_report([], unit="U1", form_type="THPT", period_start=t, period_end=t)
    assert exc.value.code == "period_invalid"
