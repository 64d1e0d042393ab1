"""The whole system for the portal's tests: `phoi_local.system`'s `system_stack`, and `unit`, a unit
account signed in to the portal over HTTP (one per test module)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from phoi_local.system import Stack, portal_client

NEW_PASSWORD = "Phoi-Moi-2026!"


@pytest.fixture
def stack(system_stack: Stack) -> Stack:
    return system_stack


@pytest.fixture
def portal_url(system_stack: Stack) -> Any:
    return system_stack.portal


@pytest.fixture(scope="module")
def unit(system_stack: Stack) -> Iterator[tuple[str, httpx.Client]]:
    code, username, temporary = system_stack.new_unit_account()
    client = portal_client(system_stack, username, temporary, new_password=NEW_PASSWORD)
    yield code, client
    client.close()
