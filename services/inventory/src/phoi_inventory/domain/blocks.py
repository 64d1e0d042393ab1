"""Blocks: maximal runs of serials of one form type with identical attributes.

A block is one row of the persistence layer's block table ``(form_type, int8range serials, state,
holder_unit, allocation_id)``. Invariants (checked on construction):

* ``allocation_id`` is set exactly when ``state == allocated``;
* ``holder_unit`` is ``None`` in ``central`` and set in ``allocated``, ``at_unit``, ``used``,
  ``returned``; ``spoiled``/``lost``/``destroyed`` blanks keep whichever custodian they had.

Across blocks: no serial is in two blocks (the exclusion constraint), and two adjacent blocks never have
identical attributes (they are merged).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import pairwise

from phoi_inventory.domain.errors import InvariantViolationError
from phoi_inventory.domain.ranges import SerialRange
from phoi_inventory.domain.states import BlankState

__all__ = ["Block", "BlockAttrs", "check_partition", "merge_adjacent"]

_HOLDER_REQUIRED = frozenset({BlankState.ALLOCATED, BlankState.AT_UNIT, BlankState.USED, BlankState.RETURNED})


@dataclass(frozen=True, slots=True, order=True)
class BlockAttrs:
    """Everything about a block except its serials; adjacent blocks with equal attrs merge."""

    form_type: str
    state: BlankState
    holder_unit: str | None = None
    allocation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Block:
    form_type: str
    serials: SerialRange
    state: BlankState
    holder_unit: str | None = None
    allocation_id: str | None = None

    def __post_init__(self) -> None:
        if not self.form_type:
            raise InvariantViolationError("a block has a form type")
        if (self.allocation_id is not None) != (self.state is BlankState.ALLOCATED):
            raise InvariantViolationError(
                f"block {self.form_type} {self.serials}: allocation_id is set exactly in state allocated"
            )
        if self.state is BlankState.CENTRAL and self.holder_unit is not None:
            raise InvariantViolationError(f"block {self.form_type} {self.serials}: central blanks have no holder")
        if self.state in _HOLDER_REQUIRED and not self.holder_unit:
            raise InvariantViolationError(
                f"block {self.form_type} {self.serials}: {self.state.value} blanks have a holder unit"
            )

    @classmethod
    def of(cls, attrs: BlockAttrs, serials: SerialRange) -> Block:
        return cls(attrs.form_type, serials, attrs.state, attrs.holder_unit, attrs.allocation_id)

    @property
    def attrs(self) -> BlockAttrs:
        return BlockAttrs(self.form_type, self.state, self.holder_unit, self.allocation_id)

    @property
    def count(self) -> int:
        return self.serials.count

    def with_serials(self, serials: SerialRange) -> Block:
        return replace(self, serials=serials)

    def mergeable_with(self, other: Block) -> bool:
        """Adjacent (in either order) with identical attributes."""
        return self.attrs == other.attrs and self.serials.is_adjacent(other.serials)

    def sort_key(self) -> tuple[str, int]:
        return self.form_type, self.serials.first


def merge_adjacent(blocks: Iterable[Block]) -> tuple[Block, ...]:
    """Sort by (form type, first serial) and merge adjacent blocks with identical attributes.
    Overlapping blocks raise ``InvariantViolationError``."""
    out: list[Block] = []
    for b in sorted(blocks, key=Block.sort_key):
        if out and out[-1].form_type == b.form_type:
            prev = out[-1]
            if prev.serials.last >= b.serials.first:
                raise InvariantViolationError(f"blocks {prev.form_type} {prev.serials} and {b.serials} overlap")
            if prev.attrs == b.attrs and prev.serials.last + 1 == b.serials.first:
                out[-1] = prev.with_serials(SerialRange(prev.serials.first, b.serials.last))
                continue
        out.append(b)
    return tuple(out)


def check_partition(blocks: Iterable[Block]) -> None:
    """Raise ``InvariantViolationError`` unless the blocks are disjoint and fully merged."""
    ordered = sorted(blocks, key=Block.sort_key)
    for prev, b in pairwise(ordered):
        if prev.form_type != b.form_type:
            continue
        if prev.serials.last >= b.serials.first:
            raise InvariantViolationError(f"blocks {prev.form_type} {prev.serials} and {b.serials} overlap")
        if prev.mergeable_with(b):
            raise InvariantViolationError(
                f"blocks {prev.form_type} {prev.serials} and {b.serials} are adjacent with equal attributes"
            )
