from __future__ import annotations

import pytest
from phoi_kit.errors import BadRequest
from phoi_kit.versioning import parse_if_match


@pytest.mark.parametrize(("header", "version"), [('"3"', 3), ('W/"12"', 12), ("7", 7), (None, None)])
def test_if_match_forms(header: str | None, version: int | None) -> None:
    assert parse_if_match(header) == version


@pytest.mark.parametrize("header", ['"abc"', '"3', "3.0", '"1234567890"', "*", ""])
def test_unreadable_if_match_is_a_400(header: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse_if_match(header)
    assert err.value.code == "invalid_if_match"
