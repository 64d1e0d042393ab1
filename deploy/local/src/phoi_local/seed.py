"""Demo data for the one-machine stack, from deploy/local/demo-seed.json.

Users are seeded by the Keycloak stand-in itself. Units, form types and the print batch go in
through the services' own APIs (as an official would), once those APIs exist.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from phoi_local.stack import StackConfig


def load_seed(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def demo_users(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    users: list[dict[str, Any]] = load_seed(path).get("users", [])
    return users


def seed_demo_data(config: StackConfig) -> None:
    """Load the seed's units, form types and print batch through the services' APIs (idempotent)."""
    # The domain services' write APIs arrive with their issues; until then there is nothing to load.
    _ = config
