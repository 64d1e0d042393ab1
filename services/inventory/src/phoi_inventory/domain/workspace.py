"""The in-memory working set every operation runs on.

An operation loads the blocks it is given into a ``Workspace``, transforms ranges of them, records ledger
lines and events, and finally asks for the ``Change`` (blocks removed/added relative to what it was
given). All checks of one ``transform`` run before anything is modified, and a ``Change`` only exists
once the whole operation succeeded, so an error leaves nothing half-applied.

Cost: a ``transform`` over R requested ranges touching B loaded blocks is O((R + B) log B); nothing is
ever done per serial.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from phoi_inventory.domain.blocks import Block, BlockAttrs, merge_adjacent
from phoi_inventory.domain.change import Change
from phoi_inventory.domain.context import OperationContext
from phoi_inventory.domain.errors import InvariantViolationError
from phoi_inventory.domain.events import DomainEvent
from phoi_inventory.domain.ledger import Movement
from phoi_inventory.domain.ranges import SerialRange, subtract_ranges
from phoi_inventory.domain.states import BlankState, LedgerReason, MovementKind

__all__ = ["Piece", "Workspace", "movements_from_pieces", "new_block_movement"]


def _first(b: Block) -> int:
    return b.serials.first


@dataclass(frozen=True, slots=True)
class Piece:
    """A part of one block moved by an operation: ``before`` and ``after`` cover the same serials."""

    before: Block
    after: Block

    @property
    def serials(self) -> SerialRange:
        return self.before.serials


class Workspace:
    def __init__(self, blocks: Iterable[Block]) -> None:
        given = list(blocks)
        self._original = frozenset(given)
        self._by_ft: dict[str, list[Block]] = {}
        for b in sorted(self._original, key=Block.sort_key):
            lst = self._by_ft.setdefault(b.form_type, [])
            if lst and lst[-1].serials.last >= b.serials.first:
                raise InvariantViolationError(f"given blocks {b.form_type} {lst[-1].serials} and {b.serials} overlap")
            lst.append(b)
        self._movements: list[Movement] = []
        self._events: list[DomainEvent] = []

    # ------------------------------------------------------------------ reading

    def blocks(self, form_type: str | None = None) -> tuple[Block, ...]:
        if form_type is not None:
            return tuple(self._by_ft.get(form_type, ()))
        return tuple(b for ft in sorted(self._by_ft) for b in self._by_ft[ft])

    def find(self, form_type: str, predicate: Callable[[Block], bool]) -> list[Block]:
        return [b for b in self._by_ft.get(form_type, ()) if predicate(b)]

    def first_overlap(self, form_type: str, serials: SerialRange) -> SerialRange | None:
        """The lowest run of ``serials`` already covered by blocks (contiguous across blocks)."""
        lst = self._by_ft.get(form_type, [])
        i = bisect_right(lst, serials.first, key=_first) - 1
        if i < 0 or lst[i].serials.last < serials.first:
            i += 1
        if i >= len(lst) or lst[i].serials.first > serials.last:
            return None
        first = max(serials.first, lst[i].serials.first)
        last = min(serials.last, lst[i].serials.last)
        while i + 1 < len(lst) and lst[i + 1].serials.first == last + 1 and last < serials.last:
            i += 1
            last = min(serials.last, lst[i].serials.last)
        return SerialRange(first, last)

    # ------------------------------------------------------------------ writing

    def insert(self, block: Block) -> None:
        """Add a block over serials no block covers (the caller checked ``first_overlap``)."""
        if self.first_overlap(block.form_type, block.serials) is not None:
            raise InvariantViolationError(f"inserted block {block.form_type} {block.serials} overlaps")
        lst = self._by_ft.setdefault(block.form_type, [])
        lst.append(block)
        self._by_ft[block.form_type] = list(merge_adjacent(lst))

    def transform(
        self,
        form_type: str,
        ranges: Sequence[SerialRange],
        decide: Callable[[Block, SerialRange], BlockAttrs],
        on_gap: Callable[[SerialRange], Exception],
    ) -> list[Piece]:
        """Move ``ranges`` (sorted, disjoint) to new attributes.

        For each part of a requested range inside one block, in ascending serial order,
        ``decide(block, part)`` returns the new attributes or raises a domain error; a part covered by no
        block raises ``on_gap(part)``. Only once every part passed are the blocks split and re-merged.
        """
        lst = self._by_ft.get(form_type, [])
        pieces: list[Piece] = []
        touched: dict[int, list[SerialRange]] = {}
        prev_last = -1
        for r in ranges:
            if r.first <= prev_last:
                raise InvariantViolationError("transform needs sorted, disjoint ranges")
            prev_last = r.last
            i = bisect_right(lst, r.first, key=_first) - 1
            if i < 0 or lst[i].serials.last < r.first:
                i += 1
            cursor = r.first
            while cursor <= r.last:
                if i >= len(lst) or lst[i].serials.first > cursor:
                    gap_last = r.last if i >= len(lst) else min(r.last, lst[i].serials.first - 1)
                    raise on_gap(SerialRange(cursor, gap_last))
                b = lst[i]
                part = SerialRange(cursor, min(b.serials.last, r.last))
                attrs = decide(b, part)
                if attrs.form_type != form_type:
                    raise InvariantViolationError("a transform keeps the form type")
                pieces.append(Piece(b.with_serials(part), Block.of(attrs, part)))
                touched.setdefault(i, []).append(part)
                cursor = part.last + 1
                if cursor > b.serials.last:
                    i += 1
        if not pieces:
            return pieces
        rebuilt: list[Block] = []
        for idx, b in enumerate(lst):
            cut = touched.get(idx)
            if cut is None:
                rebuilt.append(b)
            else:
                rebuilt.extend(b.with_serials(rest) for rest in subtract_ranges((b.serials,), cut))
        rebuilt.extend(p.after for p in pieces)
        self._by_ft[form_type] = list(merge_adjacent(rebuilt))
        return pieces

    def record(self, movements: Iterable[Movement]) -> None:
        self._movements.extend(movements)

    def emit(self, event: DomainEvent) -> None:
        self._events.append(event)

    def change(self) -> Change:
        final = {b for lst in self._by_ft.values() for b in lst}
        return Change(
            removed=tuple(sorted(self._original - final, key=Block.sort_key)),
            added=tuple(sorted(final - self._original, key=Block.sort_key)),
            movements=tuple(self._movements),
            events=tuple(self._events),
        )


def movements_from_pieces(
    pieces: Sequence[Piece],
    *,
    ctx: OperationContext,
    kind: MovementKind,
    reason_of: Callable[[Piece], LedgerReason],
    document_ref: str | None,
    entry_of: Callable[[Piece], int | None] | None = None,
    note: str | None = None,
) -> list[Movement]:
    """One ledger line per piece, consecutive pieces with the same sides (and contiguous register
    entries) merged into one line."""
    out: list[Movement] = []
    for p in pieces:
        reason = reason_of(p)
        entry = entry_of(p) if entry_of is not None else None
        before = p.before
        allocation_id = p.after.allocation_id or before.allocation_id
        if out:
            last = out[-1]
            if (
                last.serials.last + 1 == p.serials.first
                and last.form_type == before.form_type
                and last.from_state is before.state
                and last.from_holder == before.holder_unit
                and last.to_state is p.after.state
                and last.to_holder == p.after.holder_unit
                and last.allocation_id == allocation_id
                and last.reason is reason
                and (
                    (entry is None and last.register_entry_first is None)
                    or (
                        entry is not None
                        and last.register_entry_first is not None
                        and last.register_entry_first + last.quantity == entry
                    )
                )
            ):
                out[-1] = _extend(last, p.serials.last)
                continue
        out.append(
            Movement(
                operation_id=ctx.operation_id,
                kind=kind,
                reason=reason,
                form_type=before.form_type,
                serials=p.serials,
                from_state=before.state,
                to_state=p.after.state,
                from_holder=before.holder_unit,
                to_holder=p.after.holder_unit,
                allocation_id=allocation_id,
                document_ref=document_ref,
                actor_id=ctx.actor.user_id,
                actor_role=ctx.actor.role,
                at=ctx.at,
                register_entry_first=entry,
                note=note,
            )
        )
    return out


def _extend(m: Movement, last: int) -> Movement:
    return replace(m, serials=SerialRange(m.serials.first, last))


def new_block_movement(
    block: Block,
    *,
    ctx: OperationContext,
    kind: MovementKind,
    reason: LedgerReason,
    document_ref: str | None,
    note: str | None = None,
) -> Movement:
    """The ledger line that creates ``block`` from nothing (a print batch)."""
    if block.state is not BlankState.CENTRAL:
        raise InvariantViolationError("new serials enter the central stock")
    return Movement(
        operation_id=ctx.operation_id,
        kind=kind,
        reason=reason,
        form_type=block.form_type,
        serials=block.serials,
        from_state=None,
        to_state=block.state,
        from_holder=None,
        to_holder=None,
        allocation_id=None,
        document_ref=document_ref,
        actor_id=ctx.actor.user_id,
        actor_role=ctx.actor.role,
        at=ctx.at,
        note=note,
    )
