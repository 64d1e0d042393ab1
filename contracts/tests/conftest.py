"""Shared helpers for the contracts tests."""

import pytest
from phoi_contracts.catalogue import EVENT_TYPES


@pytest.fixture(params=sorted(EVENT_TYPES))
def event_type(request: pytest.FixtureRequest) -> str:
    """Every catalogue type, one test per type."""
    value: str = request.param
    return value
