"""The written access policy (docs/ACCESS_POLICY.md), the services' operations (from their OpenAPI) and what
an answer means: the pieces the tests in tests/security share."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI

REPO_ROOT = Path(__file__).resolve().parents[3]
POLICY_FILE = REPO_ROOT / "docs" / "ACCESS_POLICY.md"
SERVICES = ("identity", "requests", "inventory", "audit")
ROLES = ("qlcl_admin", "qlcl_officer", "unit_account", "auditor")
ANYONE = "anyone"
SCOPES = ("—", "own", "list")
METHODS = ("get", "post", "put", "patch", "delete")
# Query parameters through which a caller names the unit whose rows it lists.
UNIT_FILTERS = ("unit_code", "unit")

_ROW = re.compile(r"^\|\s*`(?P<method>[A-Z]+) (?P<path>\S+)`\s*\|(?P<roles>[^|]*)\|(?P<scope>[^|]*)\|\s*$")


@dataclass(frozen=True)
class Rule:
    """One row of the policy: who may call an operation, and how a unit account's reach is limited."""

    roles: frozenset[str]
    scope: str

    @property
    def public(self) -> bool:
        return ANYONE in self.roles


@dataclass(frozen=True)
class Operation:
    """One operation of a service's OpenAPI, with what a call needs to be well-formed."""

    service: str
    method: str
    path: str
    required_query: tuple[str, ...]
    query: tuple[str, ...]
    body_types: tuple[str, ...]
    body_required: bool
    if_match: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def unit_filter(self) -> str | None:
        return next((name for name in UNIT_FILTERS if name in self.query), None)


def parse_policy(text: str) -> dict[str, dict[str, Rule]]:
    """The policy's rows under each `## <service>` heading: {service: {"METHOD /path": Rule}}. A row that does
    not parse (an unknown role or scope, or an operation listed twice) is an error, not a silent gap."""
    policy: dict[str, dict[str, Rule]] = {}
    service: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("## "):
            service = line[3:].strip()
            policy[service] = {}
            continue
        match = _ROW.match(line)
        if match is None or service is None:
            continue
        roles = frozenset(r.strip() for r in match["roles"].split(",") if r.strip())
        scope = match["scope"].strip()
        if not roles <= {*ROLES, ANYONE} or scope not in SCOPES:
            raise ValueError(f"{POLICY_FILE.name}:{number}: unknown role or scope in {line!r}")
        key = f"{match['method']} {match['path']}"
        if key in policy[service]:
            raise ValueError(f"{POLICY_FILE.name}:{number}: {key} is listed twice under {service}")
        policy[service][key] = Rule(roles, scope)
    return policy


@cache
def policy() -> dict[str, dict[str, Rule]]:
    return parse_policy(POLICY_FILE.read_text(encoding="utf-8"))


def build_app(service: str) -> FastAPI:
    """The service's real app with its default settings (nothing started: enough for its routes)."""
    app: FastAPI = importlib.import_module(f"phoi_{service}.main").create_app()
    return app


def _operation(service: str, method: str, path: str, spec: dict[str, Any]) -> Operation:
    parameters = spec.get("parameters", [])
    query = tuple(p["name"] for p in parameters if p["in"] == "query")
    body = spec.get("requestBody") or {}
    return Operation(
        service=service,
        method=method.upper(),
        path=path,
        required_query=tuple(p["name"] for p in parameters if p["in"] == "query" and p.get("required")),
        query=query,
        body_types=tuple(body.get("content", {})),
        body_required=bool(body.get("required")),
        if_match=any(p["in"] == "header" and p["name"].lower() == "if-match" for p in parameters),
    )


def operations(app: FastAPI, service: str) -> list[Operation]:
    """Every operation of the app's OpenAPI document, in the document's order."""
    document = app.openapi()
    return [
        _operation(service, method, path, spec)
        for path, item in document["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]


def differences_from_policy(service: str, found: list[Operation]) -> list[str]:
    """Operations without a row, and rows naming no operation."""
    rows = policy().get(service, {})
    keys = {op.key for op in found}
    unlisted = [f"{service}: {key} has no row in {POLICY_FILE.name}" for key in sorted(keys - rows.keys())]
    stale = [f"{service}: {key} is in {POLICY_FILE.name} but not in the OpenAPI" for key in sorted(rows.keys() - keys)]
    return unlisted + stale
