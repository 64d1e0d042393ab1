"""Ledger lines (movements): the append-only stock ledger, and the running balances written on it.

One ``Movement`` moves one serial range of one form type from one set of block attributes to another.
It carries both sides (state and holder; the allocation id applies to whichever side is ``allocated``),
so the ledger alone reproduces the blocks (``replay_ledger``).

Balances: a custodian's stock on hand is its ``central`` (QLCL, ``holder_unit=None``) or ``at_unit``
(a unit) blanks of one form type, keyed by ``StockKey``. A movement changes at most one such balance
(no transition goes from one on-hand state to another). ``balance_after`` is filled by
``stamp_balances`` because the domain only sees the blocks an operation touches, not whole stocks: the
persistence layer reads (and locks) the current balance of each key in ``balance_keys(...)``, stamps,
then stores the new balances (``balance_deltas``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from phoi_inventory.domain.blocks import Block
from phoi_inventory.domain.errors import InvariantViolationError
from phoi_inventory.domain.ranges import SerialRange
from phoi_inventory.domain.states import ON_HAND_STATES, ActorRole, BlankState, LedgerReason, MovementKind

__all__ = ["Movement", "StockKey", "balance_deltas", "balance_keys", "stamp_balances"]


@dataclass(frozen=True, slots=True, order=True)
class StockKey:
    """A custodian's stock of one form type: ``holder_unit=None`` is QLCL's central stock."""

    form_type: str
    holder_unit: str | None


@dataclass(frozen=True, slots=True)
class Movement:
    """One ledger line.

    ``register_entry_first``: on ``use`` lines, the register entry number (số vào sổ gốc) of the line's
    first serial; serial ``first + i`` was written for entry ``register_entry_first + i``.
    """

    operation_id: str
    kind: MovementKind
    reason: LedgerReason
    form_type: str
    serials: SerialRange
    from_state: BlankState | None
    to_state: BlankState
    from_holder: str | None
    to_holder: str | None
    allocation_id: str | None
    document_ref: str | None
    actor_id: str
    actor_role: ActorRole
    at: datetime
    register_entry_first: int | None = None
    note: str | None = None
    balance_after: int | None = None

    @property
    def quantity(self) -> int:
        return self.serials.count

    @property
    def unit(self) -> str | None:
        """The unit concerned (at most one unit is on either side of a movement)."""
        return self.to_holder if self.to_holder is not None else self.from_holder

    @property
    def register_entries(self) -> SerialRange | None:
        if self.register_entry_first is None:
            return None
        return SerialRange.of_count(self.register_entry_first, self.quantity)

    @property
    def before(self) -> Block | None:
        """The block this line consumed (``None`` for a print batch: the serials did not exist)."""
        if self.from_state is None:
            return None
        alloc = self.allocation_id if self.from_state is BlankState.ALLOCATED else None
        return Block(self.form_type, self.serials, self.from_state, self.from_holder, alloc)

    @property
    def after(self) -> Block:
        alloc = self.allocation_id if self.to_state is BlankState.ALLOCATED else None
        return Block(self.form_type, self.serials, self.to_state, self.to_holder, alloc)

    @property
    def balance_key(self) -> StockKey | None:
        if self.from_state in ON_HAND_STATES:
            return StockKey(self.form_type, self.from_holder)
        if self.to_state in ON_HAND_STATES:
            return StockKey(self.form_type, self.to_holder)
        return None

    @property
    def balance_delta(self) -> int:
        if self.from_state in ON_HAND_STATES:
            return -self.quantity
        if self.to_state in ON_HAND_STATES:
            return self.quantity
        return 0


def balance_keys(movements: Iterable[Movement]) -> frozenset[StockKey]:
    """The stock balances the movements change: read (and lock) these before ``stamp_balances``."""
    return frozenset(k for m in movements if (k := m.balance_key) is not None)


def balance_deltas(movements: Iterable[Movement]) -> dict[StockKey, int]:
    out: dict[StockKey, int] = {}
    for m in movements:
        key = m.balance_key
        if key is not None:
            out[key] = out.get(key, 0) + m.balance_delta
    return out


def stamp_balances(movements: Iterable[Movement], opening: Mapping[StockKey, int]) -> tuple[Movement, ...]:
    """Fill ``balance_after`` on every line that changes a stock on hand, starting from ``opening``
    (the balances before the operation; every key of ``balance_keys(movements)`` must be present)."""
    running = dict(opening)
    out: list[Movement] = []
    for m in movements:
        key = m.balance_key
        if key is None:
            out.append(m)
            continue
        if key not in running:
            raise InvariantViolationError(f"no opening balance given for {key}")
        running[key] += m.balance_delta
        if running[key] < 0:
            raise InvariantViolationError(f"balance of {key} would become negative")
        out.append(replace(m, balance_after=running[key]))
    return tuple(out)
