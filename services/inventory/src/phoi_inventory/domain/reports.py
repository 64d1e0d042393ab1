"""Query helpers: stock summaries from blocks, usage reports from ledger lines. Pure, per range."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from phoi_inventory.domain.blocks import Block
from phoi_inventory.domain.errors import InvalidPeriodError
from phoi_inventory.domain.ledger import Movement
from phoi_inventory.domain.ranges import SerialRange, count_serials, merge_ranges, subtract_ranges
from phoi_inventory.domain.states import BlankState

__all__ = [
    "RangeTally",
    "StockLine",
    "UsageReport",
    "count_by_state",
    "summarise_blocks",
    "usage_report",
    "usage_reports",
]

_STATE_ORDER = {s: i for i, s in enumerate(BlankState)}


@dataclass(frozen=True, slots=True)
class RangeTally:
    """A count with its inclusive serial ranges (sorted, merged)."""

    count: int
    ranges: tuple[SerialRange, ...]

    @classmethod
    def of(cls, ranges: Iterable[SerialRange]) -> RangeTally:
        merged = merge_ranges(ranges)
        return cls(count_serials(merged), merged)


EMPTY_TALLY = RangeTally(0, ())


@dataclass(frozen=True, slots=True)
class StockLine:
    form_type: str
    state: BlankState
    holder_unit: str | None
    count: int
    ranges: tuple[SerialRange, ...]


def summarise_blocks(blocks: Iterable[Block], *, by_holder: bool = True) -> tuple[StockLine, ...]:
    """Counts and inclusive ranges per (form type, state[, holder]); allocations are not split out.
    With ``by_holder=False`` the holder is ``None`` on every line (totals across custodians)."""
    grouped: dict[tuple[str, BlankState, str | None], list[SerialRange]] = {}
    for b in blocks:
        key = (b.form_type, b.state, b.holder_unit if by_holder else None)
        grouped.setdefault(key, []).append(b.serials)
    lines = [
        StockLine(ft, state, holder, count_serials(rs), merge_ranges(rs)) for (ft, state, holder), rs in grouped.items()
    ]
    lines.sort(key=lambda s: (s.form_type, _STATE_ORDER[s.state], s.holder_unit is not None, s.holder_unit or ""))
    return tuple(lines)


def count_by_state(blocks: Iterable[Block], *, form_type: str | None = None) -> dict[BlankState, int]:
    """Number of blanks per state (every state present, zero included)."""
    out = dict.fromkeys(BlankState, 0)
    for b in blocks:
        if form_type is None or b.form_type == form_type:
            out[b.state] += b.count
    return out


@dataclass(frozen=True, slots=True)
class UsageReport:
    """A unit's accountability for one form type over ``[period_start, period_end)``.

    ``opening``/``closing``: blanks on hand (``at_unit``) at the start/end. ``received``: receipts.
    ``used``/``spoiled``/``lost``/``returned``: moved out of the unit's stock in the period.
    ``destroyed``: destroyed by the unit (spoiled ones and obsolete ones; ``destroyed_obsolete`` is the
    part that came straight from stock). Identity (see ``reconciles``): closing = opening + received -
    used - spoiled - lost - returned - destroyed_obsolete.
    """

    unit: str
    form_type: str
    period_start: datetime
    period_end: datetime
    opening: RangeTally
    received: RangeTally
    used: RangeTally
    spoiled: RangeTally
    lost: RangeTally
    destroyed: RangeTally
    destroyed_obsolete: RangeTally
    returned: RangeTally
    closing: RangeTally

    @property
    def reconciles(self) -> bool:
        out = self.used.count + self.spoiled.count + self.lost.count + self.returned.count
        return self.closing.count == self.opening.count + self.received.count - out - self.destroyed_obsolete.count


_OUT_STATES = {
    BlankState.USED: "used",
    BlankState.SPOILED: "spoiled",
    BlankState.LOST: "lost",
    BlankState.RETURNED: "returned",
}


def _arrives(m: Movement, unit: str) -> bool:
    return m.to_state is BlankState.AT_UNIT and m.to_holder == unit


def _on_hand_after(on_hand: tuple[SerialRange, ...], m: Movement, unit: str) -> tuple[SerialRange, ...]:
    """The unit's blanks at hand once line ``m`` is applied."""
    if m.from_state is BlankState.AT_UNIT and m.from_holder == unit:
        on_hand = subtract_ranges(on_hand, (m.serials,))
    if _arrives(m, unit):
        on_hand = merge_ranges((*on_hand, m.serials))
    return on_hand


def _buckets_of(m: Movement, unit: str) -> tuple[str, ...]:
    """The report's columns line ``m`` counts in: received, or where the unit's blanks went (blanks
    destroyed straight from stock are obsolete ones, counted in both destruction columns)."""
    if _arrives(m, unit):
        return ("received",)
    if m.from_holder != unit:
        return ()
    if m.to_state in _OUT_STATES:
        return (_OUT_STATES[m.to_state],)
    if m.to_state is not BlankState.DESTROYED:
        return ()
    if m.from_state is BlankState.AT_UNIT:
        return ("destroyed_obsolete", "destroyed")
    if m.from_state is BlankState.SPOILED:
        return ("destroyed",)
    return ()


def usage_report(
    movements: Iterable[Movement],
    *,
    unit: str,
    form_type: str,
    period_start: datetime,
    period_end: datetime,
) -> UsageReport:
    """Compute a usage report from ledger lines.

    ``movements``: every ledger line of the unit (``from_holder`` or ``to_holder`` = unit) for the form
    type with ``at < period_end``, in ledger order (lines of other units/form types are ignored). The
    opening balance is rebuilt from the lines before ``period_start``, so lines from the beginning are
    needed (or start from a snapshot by passing a synthetic receipt line). Cost: per line, per range.
    """
    if not period_start < period_end:
        raise InvalidPeriodError(period_start, period_end)
    lines = sorted(
        (m for m in movements if m.form_type == form_type and unit in (m.from_holder, m.to_holder)),
        key=lambda m: m.at,
    )
    on_hand: tuple[SerialRange, ...] = ()
    opening: tuple[SerialRange, ...] | None = None
    buckets: dict[str, list[SerialRange]] = {
        k: [] for k in ("received", "used", "spoiled", "lost", "returned", "destroyed", "destroyed_obsolete")
    }
    for m in lines:
        if m.at >= period_end:
            break
        if opening is None and m.at >= period_start:
            opening = on_hand
        on_hand = _on_hand_after(on_hand, m, unit)
        if m.at >= period_start:
            for bucket in _buckets_of(m, unit):
                buckets[bucket].append(m.serials)
    if opening is None:
        opening = on_hand
    return UsageReport(
        unit=unit,
        form_type=form_type,
        period_start=period_start,
        period_end=period_end,
        opening=RangeTally.of(opening),
        received=RangeTally.of(buckets["received"]),
        used=RangeTally.of(buckets["used"]),
        spoiled=RangeTally.of(buckets["spoiled"]),
        lost=RangeTally.of(buckets["lost"]),
        destroyed=RangeTally.of(buckets["destroyed"]),
        destroyed_obsolete=RangeTally.of(buckets["destroyed_obsolete"]),
        returned=RangeTally.of(buckets["returned"]),
        closing=RangeTally.of(on_hand),
    )


def usage_reports(
    movements: Iterable[Movement], *, unit: str, period_start: datetime, period_end: datetime
) -> tuple[UsageReport, ...]:
    """``usage_report`` for every form type that appears in the unit's lines, sorted by form type."""
    lines = [m for m in movements if unit in (m.from_holder, m.to_holder)]
    return tuple(
        usage_report(lines, unit=unit, form_type=ft, period_start=period_start, period_end=period_end)
        for ft in sorted({m.form_type for m in lines})
    )
