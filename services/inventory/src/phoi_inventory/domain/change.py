"""``Change``: what an operation asks the persistence layer to write, all in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import pairwise

from phoi_inventory.domain.blocks import Block
from phoi_inventory.domain.errors import InvariantViolationError
from phoi_inventory.domain.events import DomainEvent
from phoi_inventory.domain.ledger import Movement, StockKey, balance_deltas, balance_keys, stamp_balances

__all__ = ["Change", "apply_change"]


@dataclass(frozen=True, slots=True)
class Change:
    """The effect of one operation.

    Persistence, in one transaction: delete the ``removed`` block rows (each matches one stored row
    exactly: same form type, range and attributes), then insert ``added``, append ``movements`` to the
    ledger in order, and write ``events`` to the outbox. Deleting before inserting keeps the exclusion
    constraint satisfied without deferring it. A block never appears in both ``removed`` and ``added``.
    """

    removed: tuple[Block, ...] = ()
    added: tuple[Block, ...] = ()
    movements: tuple[Movement, ...] = ()
    events: tuple[DomainEvent, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.removed or self.added or self.movements or self.events)

    def then(self, later: Change) -> Change:
        """The combined effect of ``self`` followed by ``later`` (``later`` computed on the blocks after
        ``self``), e.g. a print batch followed by completing waiting allocations in the same transaction."""
        first_added = set(self.added)
        later_removed = set(later.removed)
        removed = [b for b in self.removed] + [b for b in later.removed if b not in first_added]
        added = [b for b in self.added if b not in later_removed] + list(later.added)
        common = set(removed) & set(added)
        return Change(
            removed=tuple(sorted((b for b in removed if b not in common), key=Block.sort_key)),
            added=tuple(sorted((b for b in added if b not in common), key=Block.sort_key)),
            movements=self.movements + later.movements,
            events=self.events + later.events,
        )

    def balance_keys(self) -> frozenset[StockKey]:
        return balance_keys(self.movements)

    def balance_deltas(self) -> dict[StockKey, int]:
        return balance_deltas(self.movements)

    def with_balances(self, opening: Mapping[StockKey, int]) -> Change:
        """This change with ``balance_after`` filled on its movements (see ``ledger.stamp_balances``)."""
        return replace(self, movements=stamp_balances(self.movements, opening))


def apply_change(blocks: Iterable[Block], change: Change) -> tuple[Block, ...]:
    """The blocks after ``change`` (in memory, e.g. for tests or to chain operations).
    Raises ``InvariantViolationError`` if a removed block is missing or an added one overlaps."""
    current = set(blocks)
    for b in change.removed:
        if b not in current:
            raise InvariantViolationError(f"block to remove is not present: {b}")
        current.remove(b)
    current.update(change.added)
    ordered = sorted(current, key=Block.sort_key)
    for prev, b in pairwise(ordered):
        if prev.form_type == b.form_type and prev.serials.last >= b.serials.first:
            raise InvariantViolationError(f"blocks {prev.form_type} {prev.serials} and {b.serials} overlap")
    return tuple(ordered)
