"""Inclusive serial ranges and range-set helpers.

Every function here works per range, never per serial: the cost of an operation grows with the number of
ranges, not with the number of blanks in them. A ``SerialRange(first, last)`` is inclusive on both ends;
PostgreSQL stores it as the canonical ``int8range`` ``[first, last + 1)`` (see ``pg_bounds``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from phoi_inventory.domain.errors import DuplicateSerialsError, InvalidRangeError, ReversedRangeError

__all__ = [
    "MAX_SERIAL",
    "SerialRange",
    "count_serials",
    "intersect_ranges",
    "merge_ranges",
    "normalise_ranges",
    "subtract_ranges",
    "take_lowest",
]

#: The highest serial whose exclusive upper bound still fits a PostgreSQL int8.
MAX_SERIAL = 2**63 - 2


@dataclass(frozen=True, slots=True, order=True)
class SerialRange:
    """The inclusive range ``first..last`` of serial numbers (``first <= last``, both ``>= 0``)."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if self.first < 0 or self.last < 0:
            raise InvalidRangeError(self.first, self.last, "serials are not negative")
        if self.last < self.first:
            raise ReversedRangeError(self.first, self.last)
        if self.last > MAX_SERIAL:
            raise InvalidRangeError(self.first, self.last, f"serials do not exceed {MAX_SERIAL}")

    # ------------------------------------------------------------------ constructors

    @classmethod
    def single(cls, serial: int) -> SerialRange:
        return cls(serial, serial)

    @classmethod
    def of_count(cls, first: int, count: int) -> SerialRange:
        if count < 1:
            raise InvalidRangeError(first, first + count - 1, "a range holds at least one serial")
        return cls(first, first + count - 1)

    @classmethod
    def from_pg_bounds(cls, lower: int, upper: int) -> SerialRange:
        """From a canonical PostgreSQL ``int8range`` ``[lower, upper)``."""
        return cls(lower, upper - 1)

    # ------------------------------------------------------------------ queries

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    @property
    def pg_bounds(self) -> tuple[int, int]:
        """``(lower, upper)`` of the canonical ``int8range`` ``[lower, upper)``."""
        return self.first, self.last + 1

    def __contains__(self, serial: object) -> bool:
        return isinstance(serial, int) and self.first <= serial <= self.last

    def overlaps(self, other: SerialRange) -> bool:
        return self.first <= other.last and other.first <= self.last

    def is_adjacent(self, other: SerialRange) -> bool:
        """True when the two ranges do not overlap and nothing lies between them."""
        return self.last + 1 == other.first or other.last + 1 == self.first

    def touches(self, other: SerialRange) -> bool:
        """Overlapping or adjacent: the union is one range."""
        return self.first <= other.last + 1 and other.first <= self.last + 1

    def covers(self, other: SerialRange) -> bool:
        return self.first <= other.first and other.last <= self.last

    def intersection(self, other: SerialRange) -> SerialRange | None:
        lo, hi = max(self.first, other.first), min(self.last, other.last)
        return SerialRange(lo, hi) if lo <= hi else None

    def subtract(self, other: SerialRange) -> tuple[SerialRange, ...]:
        """The parts of ``self`` outside ``other`` (zero, one or two ranges, ascending)."""
        if not self.overlaps(other):
            return (self,)
        parts: list[SerialRange] = []
        if self.first < other.first:
            parts.append(SerialRange(self.first, other.first - 1))
        if other.last < self.last:
            parts.append(SerialRange(other.last + 1, self.last))
        return tuple(parts)

    def widened(self, by: int = 1) -> SerialRange:
        """The range grown by ``by`` serials each side (clamped at 0): what to load to see neighbours."""
        return SerialRange(max(0, self.first - by), min(MAX_SERIAL, self.last + by))

    def shifted(self, offset: int) -> SerialRange:
        return SerialRange(self.first + offset, self.last + offset)

    def __str__(self) -> str:
        return f"{self.first}..{self.last}"


def count_serials(ranges: Iterable[SerialRange]) -> int:
    return sum(r.count for r in ranges)


def merge_ranges(ranges: Iterable[SerialRange]) -> tuple[SerialRange, ...]:
    """The union: sorted, overlapping and adjacent ranges merged."""
    out: list[SerialRange] = []
    for r in sorted(ranges):
        if out and out[-1].touches(r):
            if r.last > out[-1].last:
                out[-1] = SerialRange(out[-1].first, r.last)
        else:
            out.append(r)
    return tuple(out)


def normalise_ranges(ranges: Iterable[SerialRange], *, form_type: str | None = None) -> tuple[SerialRange, ...]:
    """Sort, reject any serial named twice (``DuplicateSerialsError`` naming the lowest overlap), merge
    adjacent ranges. This is how a request's list of ranges and single serials is cleaned up."""
    out: list[SerialRange] = []
    for r in sorted(ranges):
        if out and out[-1].last >= r.first:
            raise DuplicateSerialsError(SerialRange(r.first, min(r.last, out[-1].last)), form_type)
        if out and out[-1].last + 1 == r.first:
            out[-1] = SerialRange(out[-1].first, r.last)
        else:
            out.append(r)
    return tuple(out)


def subtract_ranges(ranges: Iterable[SerialRange], remove: Iterable[SerialRange]) -> tuple[SerialRange, ...]:
    """``ranges`` minus ``remove`` (both may be unsorted/overlapping); the result is merged and sorted.
    One sweep over both sorted lists."""
    base = merge_ranges(ranges)
    cut = merge_ranges(remove)
    out: list[SerialRange] = []
    j = 0
    for r in base:
        cursor = r.first
        while j < len(cut) and cut[j].last < cursor:
            j += 1
        k = j
        while k < len(cut) and cut[k].first <= r.last:
            if cut[k].first > cursor:
                out.append(SerialRange(cursor, cut[k].first - 1))
            cursor = max(cursor, cut[k].last + 1)
            k += 1
        if cursor <= r.last:
            out.append(SerialRange(cursor, r.last))
    return tuple(out)


def intersect_ranges(a: Iterable[SerialRange], b: Iterable[SerialRange]) -> tuple[SerialRange, ...]:
    """The serials in both ``a`` and ``b``; merged and sorted. One sweep over both sorted lists."""
    left, right = merge_ranges(a), merge_ranges(b)
    out: list[SerialRange] = []
    i = j = 0
    while i < len(left) and j < len(right):
        hit = left[i].intersection(right[j])
        if hit is not None:
            out.append(hit)
        if left[i].last < right[j].last:
            i += 1
        else:
            j += 1
    return merge_ranges(out)


def take_lowest(
    ranges: Iterable[SerialRange], quantity: int
) -> tuple[tuple[SerialRange, ...], tuple[SerialRange, ...]]:
    """Split sorted/merged ``ranges`` into the lowest ``quantity`` serials and the rest.

    If fewer than ``quantity`` serials exist, everything is taken (check ``count_serials`` of the result).
    """
    taken: list[SerialRange] = []
    rest: list[SerialRange] = []
    need = quantity
    for r in merge_ranges(ranges):
        if need <= 0:
            rest.append(r)
        elif r.count <= need:
            taken.append(r)
            need -= r.count
        else:
            taken.append(SerialRange(r.first, r.first + need - 1))
            rest.append(SerialRange(r.first + need, r.last))
            need = 0
    return tuple(taken), tuple(rest)
