"""Demo data for the one-machine stack, from deploy/local/demo-seed.json.

Users are created by the Keycloak stand-in itself. Everything else goes in through the services'
own APIs, signed in as the demo officials, exactly as an official would enter it: units and the demo
accounts (adopted, passwords untouched) in identity as `qlcl.admin`; form types and the print batch in
inventory as `qlcl.officer`. Every call is idempotent: 409 means "already there".
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from phoi_local.stack import SERVICES, StackConfig

DEMO_PASSWORD_DEFAULT = "demo-Phoi-2024!"  # noqa: S105 - the documented demo password of the local stack
QLCL_UNIT = "QLCL"


def load_seed(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def demo_users(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    users: list[dict[str, Any]] = load_seed(path).get("users", [])
    return users


def demo_password() -> str:
    return os.environ.get("PHOI_DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)


def sign_in(client: httpx.Client, config: StackConfig, username: str) -> dict[str, str]:
    response = client.post(
        f"{config.keycloak_url}/realms/phoi/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "phoi-cli", "username": username, "password": demo_password()},
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _post_all(client: httpx.Client, url: str, bodies: list[dict[str, Any]], headers: dict[str, str]) -> int:
    created = 0
    for body in bodies:
        response = client.post(url, json=body, headers=headers)
        if response.status_code == 409:
            continue
        if response.status_code >= 400:
            raise RuntimeError(f"POST {url} → {response.status_code}: {response.text[:500]}")
        created += 1
    return created


def seed_identity(client: httpx.Client, config: StackConfig, seed: dict[str, Any]) -> dict[str, int]:
    url = config.service_url(next(s for s in SERVICES if s.name == "identity"))
    headers = sign_in(client, config, "qlcl.admin")
    units = [
        {k: unit[k] for k in ("code", "name", "name_en", "kind", "province") if unit.get(k) is not None}
        for unit in seed.get("units", [])
    ]
    accounts = [
        {"keycloak_username": user["username"]}
        | ({"unit_code": QLCL_UNIT} if user["role"] in ("qlcl_admin", "qlcl_officer") else {})
        for user in seed.get("users", [])
    ]
    return {
        "units": _post_all(client, f"{url}/api/v1/units", units, headers),
        "accounts": _post_all(client, f"{url}/api/v1/accounts", accounts, headers),
    }


def seed_inventory(client: httpx.Client, config: StackConfig, seed: dict[str, Any]) -> dict[str, int]:
    """Form types (the usual ones are already there from inventory's migrations: 409) and print batches
    (a re-run overlaps the first: 409 `print_batch_overlap`)."""
    url = config.service_url(next(s for s in SERVICES if s.name == "inventory"))
    headers = sign_in(client, config, "qlcl.officer")
    return {
        "form_types": _post_all(client, f"{url}/api/v1/form-types", seed.get("form_types", []), headers),
        "print_batches": _post_all(client, f"{url}/api/v1/print-batches", seed.get("print_batches", []), headers),
    }


def seed_demo_data(config: StackConfig) -> dict[str, int]:
    """Load the seed through the APIs; returns how many things were created (0s on a re-run)."""
    seed = load_seed(config.seed_file)
    with httpx.Client(timeout=30.0) as client:
        return seed_identity(client, config, seed) | seed_inventory(client, config, seed)
