"""Replaying the ledger: the blocks are a cache of the ledger, and this proves it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from phoi_inventory.domain.blocks import Block, BlockAttrs
from phoi_inventory.domain.errors import InvariantViolationError
from phoi_inventory.domain.ledger import Movement
from phoi_inventory.domain.ranges import SerialRange
from phoi_inventory.domain.workspace import Workspace

__all__ = ["replay_ledger", "serial_history"]


def _expect(m: Movement, before: BlockAttrs, after: BlockAttrs) -> Callable[[Block, SerialRange], BlockAttrs]:
    def decide(b: Block, part: SerialRange) -> BlockAttrs:
        if b.attrs != before:
            raise InvariantViolationError(
                f"ledger line {m.kind.value} {m.form_type} {part}: expected {before}, found {b.attrs}"
            )
        return after

    return decide


def _gap(m: Movement) -> Callable[[SerialRange], Exception]:
    def on_gap(part: SerialRange) -> Exception:
        return InvariantViolationError(f"ledger line {m.kind.value} {m.form_type}: serials {part} not in stock")

    return on_gap


def replay_ledger(movements: Iterable[Movement], initial: Iterable[Block] = ()) -> tuple[Block, ...]:
    """The blocks obtained by applying ``movements`` in ledger order to ``initial`` (default: nothing
    printed yet). Raises ``InvariantViolationError`` at the first line that does not fit (a line's
    ``from`` side must match the blocks exactly). Use it to verify or rebuild the block table."""
    ws = Workspace(initial)
    for m in movements:
        before = m.before
        if before is None:
            if ws.first_overlap(m.form_type, m.serials) is not None:
                raise InvariantViolationError(f"ledger prints {m.form_type} {m.serials} twice")
            ws.insert(m.after)
        else:
            ws.transform(m.form_type, (m.serials,), _expect(m, before.attrs, m.after.attrs), _gap(m))
    return ws.blocks()


def serial_history(movements: Iterable[Movement], form_type: str, serial: int) -> tuple[Movement, ...]:
    """The ledger lines that moved one blank, in ledger order (its full history)."""
    return tuple(m for m in movements if m.form_type == form_type and serial in m.serials)
