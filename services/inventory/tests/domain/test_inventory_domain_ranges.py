"""SerialRange and the range-set helpers, against a naive set-of-ints model."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phoi_inventory.domain import (
    DuplicateSerialsError,
    InvalidRangeError,
    ReversedRangeError,
    SerialRange,
    count_serials,
    intersect_ranges,
    merge_ranges,
    normalise_ranges,
    subtract_ranges,
    take_lowest,
)
from phoi_inventory.domain.ranges import MAX_SERIAL


def expand(ranges: tuple[SerialRange, ...] | list[SerialRange]) -> set[int]:
    return {s for r in ranges for s in range(r.first, r.last + 1)}


def is_canonical(ranges: tuple[SerialRange, ...]) -> bool:
    return all(a.last + 1 < b.first for a, b in itertools.pairwise(ranges))


ranges_st = st.builds(lambda a, n: SerialRange(a, a + n), st.integers(min_value=0, max_value=200), st.integers(0, 30))
range_lists = st.lists(ranges_st, max_size=8)


def test_reversed_range_is_refused() -> None:
    with pytest.raises(ReversedRangeError) as exc:
        SerialRange(10, 9)
    assert exc.value.code == "range_reversed"
    assert exc.value.details() == {"first": 10, "last": 9, "reason": "the last serial is lower than the first"}


def test_negative_and_huge_ranges_are_refused() -> None:
    with pytest.raises(InvalidRangeError):
        SerialRange(-1, 3)
    with pytest.raises(InvalidRangeError):
        SerialRange(0, MAX_SERIAL + 1)
    assert SerialRange(0, MAX_SERIAL).pg_bounds == (0, 2**63 - 1)


def test_basic_queries() -> None:
    r = SerialRange(5, 9)
    assert r.count == 5
    assert 5 in r
    assert 9 in r
    assert 10 not in r
    assert "5" not in r
    assert r.pg_bounds == (5, 10)
    assert SerialRange.from_pg_bounds(5, 10) == r
    assert SerialRange.of_count(5, 5) == r
    assert SerialRange.single(7) == SerialRange(7, 7)
    assert r.is_adjacent(SerialRange(10, 12))
    assert r.is_adjacent(SerialRange(1, 4))
    assert not r.is_adjacent(SerialRange(9, 12))
    assert r.touches(SerialRange(10, 12))
    assert not r.touches(SerialRange(11, 12))
    assert r.subtract(SerialRange(6, 7)) == (SerialRange(5, 5), SerialRange(8, 9))
    assert r.subtract(SerialRange(0, 100)) == ()
    assert r.intersection(SerialRange(8, 20)) == SerialRange(8, 9)
    assert r.intersection(SerialRange(10, 20)) is None
    assert SerialRange(0, 3).widened() == SerialRange(0, 4)
    assert str(r) == "5..9"
    with pytest.raises(InvalidRangeError):
        SerialRange.of_count(5, 0)


def test_normalise_merges_adjacent_and_sorts() -> None:
    got = normalise_ranges([SerialRange(10, 12), SerialRange.single(9), SerialRange(1, 3), SerialRange(4, 4)])
    assert got == (SerialRange(1, 4), SerialRange(9, 12))


def test_normalise_refuses_duplicates_naming_the_lowest_overlap() -> None:
    with pytest.raises(DuplicateSerialsError) as exc:
        normalise_ranges([SerialRange(50, 60), SerialRange(1, 10), SerialRange(8, 20)], form_type="THPT")
    assert exc.value.overlap == SerialRange(8, 10)
    assert exc.value.code == "duplicate_serials"
    assert exc.value.details()["form_type"] == "THPT"
    with pytest.raises(DuplicateSerialsError) as exc2:
        normalise_ranges([SerialRange.single(7), SerialRange.single(7)])
    assert exc2.value.overlap == SerialRange(7, 7)


def test_take_lowest() -> None:
    taken, rest = take_lowest([SerialRange(20, 29), SerialRange(1, 5)], 8)
    assert taken == (SerialRange(1, 5), SerialRange(20, 22))
    assert rest == (SerialRange(23, 29),)
    taken, rest = take_lowest([SerialRange(1, 5)], 9)
    assert taken == (SerialRange(1, 5),)
    assert rest == ()


def test_large_ranges_cost_nothing() -> None:
    big = [SerialRange(1, 10**15), SerialRange(10**15 + 1, 2 * 10**15)]
    assert merge_ranges(big) == (SerialRange(1, 2 * 10**15),)
    assert count_serials(subtract_ranges(big, [SerialRange(5, 10**14)])) == 2 * 10**15 - (10**14 - 4)


@settings(max_examples=150, deadline=None)
@given(range_lists)
def test_merge_is_the_union(rs: list[SerialRange]) -> None:
    merged = merge_ranges(rs)
    assert expand(merged) == expand(rs)
    assert is_canonical(merged)
    assert count_serials(merged) == len(expand(rs))


@settings(max_examples=150, deadline=None)
@given(range_lists)
def test_normalise_accepts_exactly_disjoint_inputs(rs: list[SerialRange]) -> None:
    disjoint = sum(r.count for r in rs) == len(expand(rs))
    if disjoint:
        out = normalise_ranges(rs)
        assert out == merge_ranges(rs)
    else:
        with pytest.raises(DuplicateSerialsError) as exc:
            normalise_ranges(rs)
        seen: set[int] = set()
        dups: set[int] = set()
        for r in rs:
            for s in range(r.first, r.last + 1):
                (dups if s in seen else seen).add(s)
        assert exc.value.overlap.first == min(dups)
        assert all(s in dups for s in range(exc.value.overlap.first, exc.value.overlap.last + 1))


@settings(max_examples=150, deadline=None)
@given(range_lists, range_lists)
def test_subtract_and_intersect_match_sets(a: list[SerialRange], b: list[SerialRange]) -> None:
    diff = subtract_ranges(a, b)
    inter = intersect_ranges(a, b)
    assert expand(diff) == expand(a) - expand(b)
    assert expand(inter) == expand(a) & expand(b)
    assert is_canonical(diff)
    assert is_canonical(inter)


@settings(max_examples=150, deadline=None)
@given(range_lists, st.integers(0, 120))
def test_take_lowest_takes_the_lowest(rs: list[SerialRange], q: int) -> None:
    taken, rest = take_lowest(rs, q)
    all_serials = sorted(expand(rs))
    assert sorted(expand(taken)) == all_serials[:q]
    assert sorted(expand(rest)) == all_serials[q:]
