"""The authorisation matrix: every operation of every service's OpenAPI × every caller (each role, a unit
account on its own and on another unit's resources, no token), against the written policy in
docs/ACCESS_POLICY.md. The services are the real apps (`api_app`: the session's migrated database, real
tokens from the Keycloak stand-in); every call runs in a savepoint undone after it, so allowed writes
leave the small world of `access_world` as it was for the next caller."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from access_policy import SERVICES, Operation, Rule, build_app, differences_from_policy, operations, policy
from access_world import WORLDS, Side, World

REFUSED = {401, 403}
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Caller:
    name: str
    role: str | None  # None: no token
    elsewhere: bool = False  # a unit account acting on another unit's resources

    def applies_to(self, rule: Rule) -> bool:
        return not self.elsewhere or rule.scope != "—"


CALLERS = (
    Caller("qlcl_admin", "qlcl_admin"),
    Caller("qlcl_officer", "qlcl_officer"),
    Caller("unit_account", "unit_account"),
    Caller("unit_account on another unit's", "unit_account", elsewhere=True),
    Caller("auditor", "auditor"),
    Caller("no token", None),
)


def _leaks(response: httpx.Response, other: Side) -> list[str]:
    return sorted(marker for marker in other.markers if marker in response.text)


def _allowed(rule: Rule, caller: Caller, response: httpx.Response, other: Side) -> str | None:
    status = response.status_code
    if status in REFUSED:
        return f"refused with {status}"
    if rule.scope == "own" and caller.role == "unit_account" and caller.elsewhere and status != 404:
        return f"another unit's resource answered {status}, not 404"
    if rule.scope == "own" and caller.role == "unit_account" and not caller.elsewhere and status == 404:
        return "its own unit's resource answered 404"
    if rule.scope == "list" and caller.role == "unit_account" and (leaked := _leaks(response, other)):
        return f"the listing shows another unit's {leaked}"
    return None


def _refused(caller: Caller, response: httpx.Response) -> str | None:
    status = response.status_code
    expected = {401} if caller.role is None else {403, 404} if caller.elsewhere else {403}
    if status not in expected:
        return f"answered {status}, expected {' or '.join(map(str, sorted(expected)))}"
    if response.headers.get("content-type", "").split(";")[0] != PROBLEM_JSON:
        return f"refused without problem+json ({response.headers.get('content-type')})"
    return None


def verdict(rule: Rule, caller: Caller, response: httpx.Response, other: Side) -> str | None:
    """What differs from the policy in one answer, or None."""
    if response.status_code >= 500:
        return f"answered {response.status_code}"
    if response.status_code == 422 and _code(response) == "validation_failed":
        return f"the matrix's request is malformed, so it proves nothing: {response.text[:300]}"
    may = rule.public or caller.role in rule.roles
    return _allowed(rule, caller, response, other) if may else _refused(caller, response)


def _code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except json.JSONDecodeError:
        return None
    return body.get("code") if isinstance(body, dict) else None


async def call_undone(svc: Any, request: dict[str, Any]) -> httpx.Response:
    """One call in a savepoint rolled back after it: what an allowed write changed is undone. (The audit
    service runs on a database of its own instead: its reads open transactions of their own, and it has
    no write a caller could make.)"""
    if svc.connection is None:
        response: httpx.Response = await svc.client.request(**request)
        return response
    savepoint = await svc.connection.begin_nested()
    try:
        undone: httpx.Response = await svc.client.request(**request)
        return undone
    finally:
        await savepoint.rollback()


async def check_operation(
    svc: Any, world: World, op: Operation, rule: Rule, headers: Callable[..., dict[str, str]]
) -> list[str]:
    found = []
    for caller in CALLERS:
        if not caller.applies_to(rule):
            continue
        side = world.other if caller.elsewhere else world.own
        request = world.request(op, side, unit_filter=world.other.unit if caller.elsewhere else None)
        if caller.role is not None:
            unit = world.own.unit if caller.role == "unit_account" else None
            request["headers"] = {**request["headers"], **headers(caller.role, unit)}
        response = await call_undone(svc, request)
        if (difference := verdict(rule, caller, response, world.other)) is not None:
            found.append(f"{op.service} {op.key} as {caller.name}: {difference}")
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_one_row_in_the_policy_and_every_row_an_operation(service: str) -> None:
    assert differences_from_policy(service, operations(build_app(service), service)) == []


@pytest.mark.parametrize("service", SERVICES)
async def test_every_operation_answers_every_caller_as_the_policy_says(
    service: str, api_app: Any, service_app: Any, tokens: Callable[..., dict[str, str]]
) -> None:
    rows = policy()[service]
    started = time.monotonic()
    # Audit's export and verification read in REPEATABLE READ transactions of their own, which a shared
    # connection cannot give: it runs committed, on a database of its own (all its operations are reads).
    running = (
        service_app(service, background=False, **QUIET[service])
        if service == "audit"
        else api_app(service, **QUIET.get(service, {}))
    )
    async with running as svc:
        world = await WORLDS[service](svc, tokens)
        found: list[str] = []
        checked = 0
        for op in operations(svc.app, service):
            if (rule := rows.get(op.key)) is None:
                continue  # the test above names it
            found += await check_operation(svc, world, op, rule, tokens)
            checked += sum(caller.applies_to(rule) for caller in CALLERS)
    print(f"{service}: {checked} calls in {time.monotonic() - started:.1f}s")
    assert found == [], "\n".join(found)


# The identity service's background work off, and Keycloak retries short (as its own tests run it).
QUIET: dict[str, dict[str, Any]] = {
    "identity": {
        "reconcile_seconds": 0,
        "login_events_poll_seconds": 0,
        "keycloak_retry_attempts": 2,
        "keycloak_retry_initial_seconds": 0.05,
        "keycloak_retry_max_seconds": 0.2,
    },
    "audit": {"checkpoint_seconds": 0, "verify_seconds": 0},
}


async def test_only_the_shape_of_a_request_is_checked_before_the_token_and_the_role(
    api_app: Any, tokens: Callable[..., dict[str, str]]
) -> None:
    """docs/ACCESS_POLICY.md, "Order of checks": FastAPI validates the body before the route's role check
    (what the caller learns is in the published OpenAPI), and JSON syntax even before the token."""
    async with api_app("identity", **QUIET["identity"]) as svc:
        auditor = tokens("auditor")
        shapeless = await svc.client.post("/api/v1/units", json={}, headers=auditor)
        assert (shapeless.status_code, _code(shapeless)) == (422, "validation_failed")
        well_formed = {"code": "SGD-XX", "name": "Sở", "kind": "department"}
        refused = await svc.client.post("/api/v1/units", json=well_formed, headers=auditor)
        assert (refused.status_code, _code(refused)) == (403, "role_required")
        assert (await svc.client.post("/api/v1/units", json={})).status_code == 401
        broken = await svc.client.post("/api/v1/units", content=b"{", headers={"Content-Type": "application/json"})
        assert (broken.status_code, _code(broken)) == (422, "validation_failed")
