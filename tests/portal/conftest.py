"""The whole system for the portal's browser tests: `phoi_local.system`'s `system_stack`."""

from __future__ import annotations

from typing import Any

import pytest
from phoi_local.system import Stack


@pytest.fixture
def stack(system_stack: Stack) -> Stack:
    return system_stack


@pytest.fixture
def portal_url(system_stack: Stack) -> Any:
    return system_stack.portal
