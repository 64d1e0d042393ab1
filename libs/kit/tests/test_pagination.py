from __future__ import annotations

import pytest
from phoi_kit.errors import BadRequest
from phoi_kit.pagination import decode_cursor, encode_cursor


def test_cursor_round_trips_its_parts() -> None:
    cursor = encode_cursor("2026-11-22T10:00:00+00:00", 42, "Hà Nội")
    assert "=" not in cursor
    assert decode_cursor(cursor, 3) == ["2026-11-22T10:00:00+00:00", 42, "Hà Nội"]


@pytest.mark.parametrize("bad", ["", "%%%", "bm90IGpzb24", encode_cursor(1, 2)])
def test_a_bad_cursor_is_a_400_with_a_stable_code(bad: str) -> None:
    with pytest.raises(BadRequest) as err:
        decode_cursor(bad, 3)
    assert err.value.code == "invalid_cursor"
