"""Fixtures and helpers for the identity service's tests (real PostgreSQL, broker and Keycloak stand-in)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from phoi_local.keycloak.testing import KeycloakTarget, follow_within, new_password, pkce_pair, query_of, read_form
from sqlalchemy import text

# Background tasks off and Keycloak retries short, unless a test asks otherwise.
QUIET = {
    "reconcile_seconds": 0,
    "login_events_poll_seconds": 0,
    "keycloak_retry_attempts": 2,
    "keycloak_retry_initial_seconds": 0.05,
    "keycloak_retry_max_seconds": 0.2,
}
# Registered for the portal client as http://127.0.0.1/* (any loopback port, RFC 8252).
REDIRECT = "http://127.0.0.1:8000/auth/callback"


@pytest.fixture
def identity(service_app: Any) -> Callable[..., Any]:
    """`async with identity(**settings) as svc:` — the identity service on a fresh database;
    `identity(background=False)`: without bus, relay or consumer (``service_app``)."""

    def _run(**overrides: Any) -> Any:
        return service_app("identity", **{**QUIET, **overrides})

    return _run


@pytest.fixture
def identity_api(api_app: Any) -> Callable[..., Any]:
    """`async with identity_api(**settings) as svc:` — the faster tier for request → response tests: the
    session's migrated identity database, in a transaction rolled back at the end, no bus (``api_app``).
    Keycloak is real, so what a test creates there stays: give it unique names."""

    def _run(**overrides: Any) -> Any:
        return api_app("identity", **{**QUIET, **overrides})

    return _run


@pytest.fixture
def admin_headers(tokens: Callable[..., dict[str, str]]) -> dict[str, str]:
    """One QLCL administrator for the session (``tokens``): a new user per test cost two scrypt hashes in
    the stand-in and a sign-in, and no test changes the administrator itself."""
    return tokens("qlcl_admin")


def unique_code(prefix: str = "T") -> str:
    return f"{prefix}-{secrets.token_hex(3).upper()}"


async def new_unit(
    client: httpx.AsyncClient, headers: dict[str, str], *, kind: str = "department", **extra: Any
) -> Any:
    body = {"code": unique_code("SGD"), "name": "Sở Giáo dục và Đào tạo Thử", "kind": kind, **extra}
    response = await client.post("/api/v1/units", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def new_unit_account(client: httpx.AsyncClient, headers: dict[str, str], unit_code: str, **extra: Any) -> Any:
    body = {
        "kind": "unit",
        "unit_code": unit_code,
        "username": f"u-{secrets.token_hex(5)}",
        "holder": {"name": "Nguyễn Văn An", "position": "Chuyên viên", "phone": "+84 24 3869 0000"},
        **extra,
    }
    response = await client.post("/api/v1/accounts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def new_individual(client: httpx.AsyncClient, headers: dict[str, str], role: str = "qlcl_officer") -> Any:
    body = {
        "kind": "individual",
        "role": role,
        "username": f"o-{secrets.token_hex(5)}",
        "holder": {"name": "Trần Thị Bình"},
    }
    response = await client.post("/api/v1/accounts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def change_temporary_password(target: KeycloakTarget, username: str, temporary: str, new: str) -> dict[str, Any]:
    """Sign in through the login page with the temporary password, set `new` on the update-password
    page (Keycloak's required action), and return the portal's tokens — what a holder does in the browser."""
    with httpx.Client(follow_redirects=False, timeout=10.0) as browser:
        verifier, challenge = pkce_pair()
        page = browser.get(
            f"{target.issuer}/protocol/openid-connect/auth",
            params={
                "client_id": "portal",
                "response_type": "code",
                "redirect_uri": REDIRECT,
                "scope": "openid",
                "state": secrets.token_urlsafe(8),
                "nonce": secrets.token_urlsafe(8),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        assert page.status_code == 200, page.text[:500]
        form = read_form(page.text, "kc-form-login")
        form.fields.update(username=username, password=temporary)
        step = follow_within(browser, browser.post(str(page.url.join(form.action)), data=form.fields), REDIRECT)
        assert step.status_code == 200, "expected the update-password page"
        form = read_form(step.text, "kc-passwd-update-form")
        form.fields.update({"password-new": new, "password-confirm": new})
        done = follow_within(browser, browser.post(str(step.url.join(form.action)), data=form.fields), REDIRECT)
        assert done.status_code == 302, done.text[:500]
        code = query_of(done.headers["location"])["code"]
    tokens: dict[str, Any] = target.portal().token(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier
    )
    return tokens


def activate(target: KeycloakTarget, account: dict[str, Any]) -> str:
    """The holder's first login: the temporary password is replaced. Returns the new password."""
    password = new_password()
    change_temporary_password(target, account["username"], account["temporary_password"], password)
    return password


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def outbox(svc: Any) -> list[tuple[str, dict[str, Any]]]:
    """What the service has written to its outbox, in order: (type, envelope data)."""
    async with svc.runtime.database.session() as session:
        rows = (await session.execute(text("SELECT type, payload FROM outbox ORDER BY id"))).all()
    return [(row.type, json.loads(row.payload)["data"]) for row in rows]


async def count(svc: Any, table: str) -> int:
    async with svc.runtime.database.session() as session:
        return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


class Helpers:
    """The helpers above, for test modules (which cannot import conftest under importlib mode)."""

    unique_code = staticmethod(unique_code)
    new_unit = staticmethod(new_unit)
    new_unit_account = staticmethod(new_unit_account)
    new_individual = staticmethod(new_individual)
    change_temporary_password = staticmethod(change_temporary_password)
    activate = staticmethod(activate)
    bearer = staticmethod(bearer)
    outbox = staticmethod(outbox)
    count = staticmethod(count)


@pytest.fixture
def helpers() -> type[Helpers]:
    return Helpers
