"""Fixtures for the inventory domain tests.

``FakeStore`` plays the persistence layer exactly as the domain's docstrings ask: it loads only the
blocks overlapping the (widened) ranges an operation touches, or the lowest central blocks up to the
demand for allocation, applies the returned ``Change`` (delete removed, insert added, checking the
exclusion constraint), stamps balances and appends the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta

import pytest
from phoi_inventory.domain import (
    Actor,
    ActorRole,
    AllocationOutcome,
    BlankState,
    Block,
    Change,
    DomainEvent,
    FormType,
    Movement,
    MovementRequest,
    OperationContext,
    PendingAllocation,
    PrintBatch,
    QueueResult,
    SerialRange,
    StockKey,
    apply_change,
    blocks_to_load_for_print_batch,
    central_demand,
    confirm_receipt,
    process_allocation_queue,
    ranges_to_load_for_allocation,
    ranges_to_load_for_movement,
    receive_print_batch,
    record_movement,
    release_allocation,
)

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.n = 0

    def ctx(self, role: ActorRole, unit: str | None = None, user: str | None = None) -> OperationContext:
        self.n += 1
        actor = Actor(user or f"{role.value}-{unit or 'qlcl'}", role, unit)
        return OperationContext(actor, T0 + timedelta(minutes=self.n), f"op-{self.n}")

    def qlcl(self) -> OperationContext:
        return self.ctx(ActorRole.QLCL)

    def system(self) -> OperationContext:
        return self.ctx(ActorRole.SYSTEM, user="inventory")

    def unit(self, code: str) -> OperationContext:
        return self.ctx(ActorRole.UNIT, code)


class FakeStore:
    def __init__(self) -> None:
        self.blocks: set[Block] = set()
        self.ledger: list[Movement] = []
        self.events: list[DomainEvent] = []
        self.balances: dict[StockKey, int] = {}
        self.loads: list[int] = []  # how many blocks each operation was handed

    # ---------------------------------------------------------------- loading, as the contract says

    def overlapping(self, form_type: str, ranges: Iterable[SerialRange]) -> list[Block]:
        rs = list(ranges)
        out = [b for b in self.blocks if b.form_type == form_type and any(b.serials.overlaps(r) for r in rs)]
        self.loads.append(len(out))
        return out

    def central_for(self, demand: Mapping[str, int]) -> list[Block]:
        out: list[Block] = []
        for ft, need in demand.items():
            got = 0
            for b in sorted(
                (b for b in self.blocks if b.form_type == ft and b.state is BlankState.CENTRAL),
                key=lambda b: b.serials.first,
            ):
                if got >= need:
                    break
                out.append(b)
                got += b.count
        self.loads.append(len(out))
        return out

    # ---------------------------------------------------------------- writing

    def commit(self, change: Change) -> Change:
        opening = {k: self.balances.get(k, 0) for k in change.balance_keys()}
        stamped = change.with_balances(opening)
        assert not set(change.removed) & set(change.added)
        self.blocks = set(apply_change(self.blocks, change))
        for k, d in change.balance_deltas().items():
            self.balances[k] = self.balances.get(k, 0) + d
        self.ledger.extend(stamped.movements)
        self.events.extend(change.events)
        return stamped

    # ---------------------------------------------------------------- operations

    def print_batch(self, batch: PrintBatch, form_type: FormType, ctx: OperationContext) -> Change:
        ft, rng = blocks_to_load_for_print_batch(batch)
        return self.commit(receive_print_batch(batch, form_type, self.overlapping(ft, [rng]), ctx))

    def run_queue(self, queue: list[PendingAllocation], ctx: OperationContext) -> QueueResult:
        result = process_allocation_queue(queue, self.central_for(central_demand(queue)), ctx)
        self.commit(result.change)
        return result

    def _alloc_blocks(self, outcome: AllocationOutcome) -> list[Block]:
        out: list[Block] = []
        for ft, rs in ranges_to_load_for_allocation(outcome).items():
            out.extend(self.overlapping(ft, rs))
        return out

    def receive(self, outcome: AllocationOutcome, ctx: OperationContext) -> Change:
        return self.commit(confirm_receipt(outcome, self._alloc_blocks(outcome), ctx, document_ref="BB-1"))

    def release(self, outcome: AllocationOutcome, ctx: OperationContext) -> Change:
        return self.commit(release_allocation(outcome, self._alloc_blocks(outcome), ctx))

    def move(self, request: MovementRequest, form_type: FormType, ctx: OperationContext) -> Change:
        ft, rs = ranges_to_load_for_movement(request)
        return self.commit(record_movement(request, self.overlapping(ft, rs), form_type, ctx))

    def sorted_blocks(self) -> list[Block]:
        return sorted(self.blocks, key=Block.sort_key)


def make_form_type(code: str = "THPT", prefix: str = "TH", digits: int = 7, active: bool = True) -> FormType:
    return FormType(code, f"Phôi {code}", f"Form {code}", prefix, digits, "2024.1", active)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def thpt() -> FormType:
    return make_form_type()


@pytest.fixture
def store_factory() -> Callable[[], FakeStore]:
    return FakeStore


@pytest.fixture
def clock_factory() -> Callable[[], Clock]:
    return Clock


@pytest.fixture
def form_type_factory() -> Callable[..., FormType]:
    return make_form_type
