"""Stateful property test of the whole inventory domain.

Any sequence of print batches, approvals (the allocation queue), receipts, releases, movements by units
and QLCL, and retiring a form type, run through a fake persistence layer that hands each operation only
the blocks the contract says to load, keeps:

(a) the blocks partition exactly the printed serials: no gap, no overlap, adjacent identical blocks merged;
(b) replaying the ledger from empty reproduces the blocks;
(c) every serial's (state, holder, allocation) — hence the counts per state — matches a naive per-serial
    model that lives only here; stock balances match the naive on-hand counts;

and every refused operation raises the error the naive model predicts, naming the lowest offending
serial, with nothing changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, ClassVar

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from phoi_inventory.domain import (
    MANUAL_KINDS,
    ON_HAND_STATES,
    ActorRole,
    AllocationOutcome,
    AllocationShort,
    AllocationStatus,
    BlankState,
    Block,
    Custody,
    DocumentRequiredError,
    DuplicateSerialsError,
    ForbiddenMovementError,
    FormType,
    InactiveFormTypeError,
    InventoryError,
    LineShortfall,
    MovementItem,
    MovementKind,
    MovementRequest,
    PendingAllocation,
    PrintBatch,
    PrintBatchOverlapError,
    RequestedLine,
    SerialRange,
    SerialsNotHeldError,
    StockKey,
    Transition,
    WrongStateError,
    check_partition,
    count_by_state,
    replay_ledger,
    transitions_for,
)

FTS = ("A", "B")
UNITS = ("U1", "U2", "U3")
MAX = 200
Attrs = tuple[BlankState, str | None, str | None]

_MOVABLE = frozenset({BlankState.AT_UNIT, BlankState.SPOILED, BlankState.RETURNED, BlankState.CENTRAL})

SETTINGS = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def expand(ranges: tuple[SerialRange, ...]) -> list[int]:
    return [s for r in ranges for s in range(r.first, r.last + 1)]


@dataclass(frozen=True)
class Pick:
    """Who moves which kind, and the holder the request names; ``target``: the block chosen to fit."""

    target: Block | None
    kind: MovementKind
    role: ActorRole
    unit: str | None
    holder_param: str | None


def draw_fitting(data: st.DataObject, form: FormType, movable: list[Block]) -> Pick:
    """An actor and a kind that fit a block that can still move (blanks on hand first)."""
    on_hand = [b for b in movable if b.state is BlankState.AT_UNIT]
    prefer_on_hand: bool = data.draw(st.booleans(), label="prefer_on_hand")
    pool = on_hand if on_hand and prefer_on_hand else movable
    target: Block = data.draw(st.sampled_from(pool), label="target")
    returned = target.state is BlankState.RETURNED
    role = ActorRole.QLCL if target.holder_unit is None or returned else ActorRole.UNIT
    custody = Custody.CENTRAL if target.holder_unit is None else Custody.UNIT
    kinds_fitting = sorted(
        {
            t.kind
            for k in MANUAL_KINDS
            for t in transitions_for(k, role=role, custody=custody)
            if t.from_state is target.state and not (t.obsolete_only and form.active)
        }
    )
    kind = data.draw(st.sampled_from(kinds_fitting), label="kind")
    unit = target.holder_unit if role is ActorRole.UNIT else None
    return Pick(target, kind, role, unit, target.holder_unit)


def draw_any(data: st.DataObject) -> Pick:
    """Any kind, actor and holder (mostly invalid)."""
    kind = data.draw(st.sampled_from(sorted(MANUAL_KINDS)), label="kind")
    role = data.draw(st.sampled_from([ActorRole.UNIT, ActorRole.UNIT, ActorRole.QLCL]), label="role")
    if role is ActorRole.UNIT:
        unit = data.draw(st.sampled_from(UNITS), label="unit")
        others = [u for u in UNITS if u != unit]
        holder_param = data.draw(st.sampled_from([None, None, None, unit, others[0]]), label="holder")
        return Pick(None, kind, role, unit, holder_param)
    return Pick(None, kind, role, None, data.draw(st.sampled_from([None, None, *UNITS]), label="holder"))


def draw_ranges_in(data: st.DataObject, target: Block) -> list[SerialRange]:
    """Disjoint pieces of the target block, in any order, sometimes with a stray range."""
    t = target.serials
    points = sorted(
        data.draw(st.lists(st.integers(t.first, t.last), unique=True, min_size=1, max_size=6), label="cuts")
    )
    pairs = [points[i : i + 2] for i in range(0, len(points), 2)]
    ranges = list(data.draw(st.permutations([SerialRange(p[0], p[-1]) for p in pairs]), label="order"))
    if data.draw(st.integers(0, 5), label="stray") == 5:
        a = data.draw(st.integers(1, MAX + 20), label="stray_a")
        ranges.append(SerialRange(a, a + data.draw(st.integers(0, 5), label="stray_len")))
    return ranges


def draw_ranges_anywhere(data: st.DataObject, blocks: list[Block]) -> list[SerialRange]:
    """A few ranges, each inside (or running past) a block or anywhere."""
    ranges = []
    for _ in range(data.draw(st.integers(1, 4), label="n")):
        from_block: bool = data.draw(st.booleans(), label="from_block")
        if blocks and from_block:
            b = data.draw(st.sampled_from(blocks), label="block")
            a = data.draw(st.integers(b.serials.first, b.serials.last), label="a")
            z = data.draw(st.integers(a, min(b.serials.last + 2, a + 20)), label="z")
        else:
            a = data.draw(st.integers(1, MAX + 20), label="ra")
            z = a + data.draw(st.integers(0, 10), label="rz")
        ranges.append(SerialRange(a, z))
    return ranges


class InventoryMachine(RuleBasedStateMachine):
    factories: ClassVar[tuple[Callable[[], Any], Callable[[], Any], Callable[..., FormType]]]

    def __init__(self) -> None:
        super().__init__()
        store_factory, clock_factory, ft_factory = self.factories
        self.store = store_factory()
        self.clock = clock_factory()
        self.form_types = {ft: ft_factory(ft, ft, 3) for ft in FTS}
        self.model: dict[tuple[str, int], Attrs] = {}
        self.waiting: list[PendingAllocation] = []
        self.completed: dict[str, AllocationOutcome] = {}
        self.n = 0
        self.entry = 0

    # ------------------------------------------------------------------ helpers

    def expect_refused(self, exc_type: type[InventoryError], call: Callable[[], object]) -> InventoryError:
        before = self.store.sorted_blocks()
        ledger_len = len(self.store.ledger)
        caught: InventoryError | None = None
        try:
            call()
        except InventoryError as exc:
            caught = exc
        if caught is None:
            raise AssertionError(f"expected {exc_type.__name__}")
        assert type(caught) is exc_type, (exc_type, caught)
        event(f"refused: {caught.code}")
        assert self.store.sorted_blocks() == before
        assert len(self.store.ledger) == ledger_len
        return caught

    def naive_queue(self, queue: list[PendingAllocation]) -> list[tuple[AllocationStatus, object]]:
        central = {
            ft: sorted(s for (f, s), a in self.model.items() if f == ft and a[0] is BlankState.CENTRAL) for ft in FTS
        }
        avail = {ft: len(v) for ft, v in central.items()}
        out: list[tuple[AllocationStatus, object]] = []
        for p in queue:
            demand = Counter[str]()
            for line in p.lines:
                demand[line.form_type] += line.quantity
            if all(q <= avail[ft] for ft, q in demand.items()):
                taken: list[list[int]] = []
                for line in p.lines:
                    taken.append(central[line.form_type][: line.quantity])
                    central[line.form_type] = central[line.form_type][line.quantity :]
                for ft, q in demand.items():
                    avail[ft] -= q
                out.append((AllocationStatus.COMPLETED, taken))
            else:
                left = dict(avail)
                short: list[LineShortfall] = []
                for i, line in enumerate(p.lines, start=1):
                    got = min(line.quantity, left[line.form_type])
                    left[line.form_type] -= got
                    if got < line.quantity:
                        short.append(LineShortfall(i, line.form_type, line.quantity, got))
                for ft, q in demand.items():
                    avail[ft] = max(0, avail[ft] - q)
                out.append((AllocationStatus.WAITING_FOR_STOCK, tuple(short)))
        return out

    def run_queue(self, queue: list[PendingAllocation]) -> None:
        if not queue:
            self.waiting = []
            return
        expected = self.naive_queue(queue)
        result = self.store.run_queue(queue, self.clock.system())
        waiting_events = [e.allocation_id for e in result.change.events if isinstance(e, AllocationShort)]
        assert waiting_events == [
            p.allocation_id
            for p, (status, _) in zip(queue, expected, strict=True)
            if status is AllocationStatus.WAITING_FOR_STOCK and not p.waiting
        ]
        self.waiting = []
        for p, outcome, (status, detail) in zip(queue, result.outcomes, expected, strict=True):
            assert outcome.status is status
            assert outcome.allocation_id == p.allocation_id
            event(f"allocation: {status.value}")
            if status is AllocationStatus.COMPLETED:
                assert isinstance(detail, list)
                for line, want in zip(outcome.lines, detail, strict=True):
                    assert expand(line.ranges) == want
                    for s in want:
                        self.model[(line.form_type, s)] = (BlankState.ALLOCATED, p.unit, p.allocation_id)
                self.completed[p.allocation_id] = outcome
            else:
                assert outcome.shortfall == detail
                self.waiting.append(replace(p, waiting=True))

    # ------------------------------------------------------------------ rules

    @initialize(
        printed=st.tuples(st.integers(1, 120), st.integers(1, 120)),
        handed_out=st.lists(st.tuples(st.sampled_from(UNITS), st.sampled_from(FTS), st.integers(1, 30)), max_size=3),
    )
    def opening_stock(self, printed: tuple[int, int], handed_out: list[tuple[str, str, int]]) -> None:
        """Every run starts with some stock printed and some of it already at units."""
        for ft, count in zip(FTS, printed, strict=True):
            self.print_batch(ft, 1, count, fresh=False)
        for unit, ft, q in handed_out:
            self.approve(unit, [(ft, q)], then_receive=True)

    @rule(ft=st.sampled_from(FTS), first=st.integers(1, MAX), length=st.integers(1, 80), fresh=st.booleans())
    def print_batch(self, ft: str, first: int, length: int, fresh: bool) -> None:
        self.n += 1
        if fresh:  # continue after the highest printed serial, as a printer does
            first = 1 + max((s for f, s in self.model if f == ft), default=0)
        last = first + length - 1
        form = self.form_types[ft]
        batch = PrintBatch(f"PB{self.n}", ft, SerialRange(first, last), "Printer", "HĐ", date(2025, 5, 1))
        printed = [s for s in range(first, last + 1) if (ft, s) in self.model]
        if not form.active:
            self.expect_refused(InactiveFormTypeError, lambda: self.store.print_batch(batch, form, self.clock.qlcl()))
            return
        if printed:
            exc = self.expect_refused(
                PrintBatchOverlapError, lambda: self.store.print_batch(batch, form, self.clock.qlcl())
            )
            assert isinstance(exc, PrintBatchOverlapError)
            assert exc.conflict.first == printed[0]
            assert all((ft, s) in self.model for s in range(exc.conflict.first, exc.conflict.last + 1))
            assert exc.conflict.last == last or (ft, exc.conflict.last + 1) not in self.model
            return
        self.store.print_batch(batch, form, self.clock.qlcl())
        for s in range(first, last + 1):
            self.model[(ft, s)] = (BlankState.CENTRAL, None, None)
        self.run_queue(list(self.waiting))

    @rule(
        unit=st.sampled_from(UNITS),
        lines=st.lists(st.tuples(st.sampled_from(FTS), st.integers(1, 15)), min_size=1, max_size=2),
        then_receive=st.booleans(),
    )
    def approve(self, unit: str, lines: list[tuple[str, int]], then_receive: bool) -> None:
        self.n += 1
        p = PendingAllocation(f"AL{self.n}", f"RQ{self.n}", unit, tuple(RequestedLine(ft, q) for ft, q in lines))
        self.run_queue([*self.waiting, p])
        if then_receive and p.allocation_id in self.completed:
            self.do_receive(p.allocation_id)

    @precondition(lambda self: bool(self.completed))
    @rule(data=st.data())
    def receive(self, data: st.DataObject) -> None:
        alloc_id = data.draw(st.sampled_from(sorted(self.completed)))
        outcome = self.completed[alloc_id]
        if data.draw(st.integers(0, 5)) == 5:
            other = next(u for u in UNITS if u != outcome.unit)
            self.expect_refused(ForbiddenMovementError, lambda: self.store.receive(outcome, self.clock.unit(other)))
            return
        self.do_receive(alloc_id)

    def do_receive(self, alloc_id: str) -> None:
        outcome = self.completed[alloc_id]
        self.store.receive(outcome, self.clock.unit(outcome.unit))
        event("received")
        for key, (state, _holder, alloc) in list(self.model.items()):
            if alloc == alloc_id:
                assert state is BlankState.ALLOCATED
                self.model[key] = (BlankState.AT_UNIT, outcome.unit, None)
        del self.completed[alloc_id]

    @precondition(lambda self: bool(self.completed))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        alloc_id = data.draw(st.sampled_from(sorted(self.completed)))
        outcome = self.completed.pop(alloc_id)
        self.store.release(outcome, self.clock.qlcl())
        for key, (_state, _holder, alloc) in list(self.model.items()):
            if alloc == alloc_id:
                self.model[key] = (BlankState.CENTRAL, None, None)
        self.run_queue(list(self.waiting))

    @precondition(lambda self: bool(self.waiting))
    @rule(data=st.data())
    def withdraw_waiting(self, data: st.DataObject) -> None:
        """The request's approval changed (cancelled): it leaves the queue; the ones behind may complete."""
        gone = data.draw(st.sampled_from([p.allocation_id for p in self.waiting]))
        self.run_queue([p for p in self.waiting if p.allocation_id != gone])

    @precondition(lambda self: self.form_types["B"].active and self.n >= 8)
    @rule()
    def retire_b(self) -> None:
        self.form_types["B"] = self.form_types["B"].deactivated()

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def move_fitting(self, data: st.DataObject) -> None:
        """Mostly valid: an actor and kind that fit a chosen block."""
        self.move(data, fitting=True)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def move_anything(self, data: st.DataObject) -> None:
        """Mostly invalid: any actor, kind and serials."""
        self.move(data, fitting=False)

    def move(self, data: st.DataObject, *, fitting: bool) -> None:
        ft = data.draw(st.sampled_from(FTS), label="ft")
        form = self.form_types[ft]
        blocks = [b for b in self.store.sorted_blocks() if b.form_type == ft]
        movable = [b for b in blocks if b.state in _MOVABLE]
        pick = draw_fitting(data, form, movable) if fitting and movable else draw_any(data)
        holder_param = pick.holder_param
        if pick.role is ActorRole.UNIT and holder_param == pick.unit and data.draw(st.booleans(), label="omit_holder"):
            holder_param = None
        ctx = self.clock.unit(pick.unit) if pick.unit is not None else self.clock.qlcl()
        ranges = draw_ranges_anywhere(data, blocks) if pick.target is None else draw_ranges_in(data, pick.target)
        doc = data.draw(st.sampled_from([*["DOC-1"] * 7, None]), label="doc")
        items = tuple(self.numbered(pick.kind, r) for r in ranges)
        request = MovementRequest(pick.kind, ft, items, document_ref=doc, holder_unit=holder_param)
        self.check_move(request, form, pick, lambda: self.store.move(request, form, ctx))

    def numbered(self, kind: MovementKind, r: SerialRange) -> MovementItem:
        """An item, with fresh register entries on ``use``."""
        if kind is not MovementKind.USE:
            return MovementItem(r)
        item = MovementItem(r, self.entry + 1)
        self.entry += r.count
        return item

    def check_move(self, request: MovementRequest, form: FormType, pick: Pick, call: Callable[[], object]) -> None:
        """The naive model predicts the outcome, serial by serial."""
        kind, role = request.kind, pick.role
        if role is ActorRole.UNIT and request.holder_unit not in (None, pick.unit):
            self.expect_refused(ForbiddenMovementError, call)
            return
        holder = pick.unit if role is ActorRole.UNIT else request.holder_unit
        custody = Custody.CENTRAL if holder is None else Custody.UNIT
        rules = transitions_for(kind, role=role, custody=custody)
        if not rules:
            self.expect_refused(ForbiddenMovementError, call)
            return
        if any(r.document is not None for r in rules) and request.document_ref is None:
            self.expect_refused(DocumentRequiredError, call)
            return
        counts = Counter(s for it in request.items for s in range(it.serials.first, it.serials.last + 1))
        by_state = {r.from_state: r for r in rules if not (r.obsolete_only and form.active)}
        if self.refused_serials(form.code, counts, holder, by_state, call):
            return
        change = call()
        event(f"moved: {kind.value} by {role.value}")
        assert sum(m.quantity for m in change.movements) == len(counts)  # type: ignore[attr-defined]
        for s in counts:
            rule_ = by_state[self.model[(form.code, s)][0]]
            to_holder = None if rule_.to_state is BlankState.CENTRAL else holder
            self.model[(form.code, s)] = (rule_.to_state, to_holder, None)
        if kind is MovementKind.RECEIVE_RETURN:
            self.run_queue(list(self.waiting))

    def refused_serials(
        self,
        ft: str,
        counts: Counter[int],
        holder: str | None,
        by_state: dict[BlankState | None, Transition],
        call: Callable[[], object],
    ) -> bool:
        """Whether the serials named are refused (named twice, not held, in a wrong state) as the model
        predicts, at the lowest offending serial."""
        dups = sorted(s for s, c in counts.items() if c > 1)
        if dups:
            dup = self.expect_refused(DuplicateSerialsError, call)
            assert isinstance(dup, DuplicateSerialsError)
            assert dup.overlap.first == dups[0]
            return True
        for s in sorted(counts):
            attrs = self.model.get((ft, s))
            if attrs is None or attrs[1] != holder:
                err = self.expect_refused(SerialsNotHeldError, call)
                assert isinstance(err, SerialsNotHeldError)
                assert err.first_serial == s
                return True
            if attrs[0] not in by_state:
                err2 = self.expect_refused(WrongStateError, call)
                assert isinstance(err2, WrongStateError)
                assert err2.first_serial == s
                assert err2.state is attrs[0]
                return True
        return False

    # ------------------------------------------------------------------ invariants

    @invariant()
    def blocks_partition_exactly_the_printed_serials(self) -> None:
        blocks = self.store.sorted_blocks()
        check_partition(blocks)
        covered = sorted((b.form_type, s) for b in blocks for s in range(b.serials.first, b.serials.last + 1))
        assert covered == sorted(self.model)

    @invariant()
    def ledger_replays_to_the_blocks(self) -> None:
        assert list(replay_ledger(self.store.ledger)) == self.store.sorted_blocks()

    @invariant()
    def every_serial_matches_the_naive_model(self) -> None:
        per_serial = {
            (b.form_type, s): (b.state, b.holder_unit, b.allocation_id)
            for b in self.store.blocks
            for s in range(b.serials.first, b.serials.last + 1)
        }
        assert per_serial == self.model
        for ft in FTS:
            naive = Counter(a[0] for (f, _), a in self.model.items() if f == ft)
            assert count_by_state(self.store.blocks, form_type=ft) == {s: naive.get(s, 0) for s in BlankState}

    @invariant()
    def balances_match_naive_stock_on_hand(self) -> None:
        naive = Counter(StockKey(f, a[1]) for (f, _), a in self.model.items() if a[0] in ON_HAND_STATES)
        assert {k: v for k, v in self.store.balances.items() if v} == dict(naive)
        last_balance: dict[StockKey, int] = {}
        for m in self.store.ledger:
            if m.balance_key is not None:
                assert m.balance_after is not None
                last_balance[m.balance_key] = m.balance_after
            else:
                assert m.balance_after is None
        assert {k: v for k, v in last_balance.items() if v} == dict(naive)


def test_inventory_domain_state_machine(
    store_factory: Callable[[], Any], clock_factory: Callable[[], Any], form_type_factory: Callable[..., FormType]
) -> None:
    InventoryMachine.factories = (store_factory, clock_factory, form_type_factory)
    run_state_machine_as_test(InventoryMachine, settings=SETTINGS)
