"""Stand-in only, in-process (ASGI, or uvicorn in a thread) with a fake clock: expiry, idle sessions,
lockout waits and the grace period of rotated keys, without sleeping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from phoi_local.keycloak import DEFAULT_DEMO_PASSWORD, Standin, StandinSettings, create_app
from phoi_local.keycloak.process import StandinThread
from phoi_local.keycloak.testing import KeycloakTarget

BASE = "http://kc.test"
ISSUER = f"{BASE}/realms/phoi"
OIDC = f"{ISSUER}/protocol/openid-connect"
PORTAL = ("portal", "dev-only-portal-secret-change-me")


@dataclass
class FakeClock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    client: httpx.AsyncClient
    clock: FakeClock
    core: Standin

    async def password_grant(self, username: str = "qlcl.officer", password: str = DEFAULT_DEMO_PASSWORD) -> Any:
        return await self.client.post(
            f"{OIDC}/token",
            data={"grant_type": "password", "client_id": "phoi-cli", "username": username, "password": password},
        )

    async def refresh(self, refresh_token: str) -> httpx.Response:
        return await self.client.post(
            f"{OIDC}/token",
            data={"grant_type": "refresh_token", "client_id": "phoi-cli", "refresh_token": refresh_token},
        )

    async def userinfo(self, access_token: str) -> httpx.Response:
        return await self.client.get(f"{OIDC}/userinfo", headers={"Authorization": f"Bearer {access_token}"})

    async def introspect(self, token: str) -> dict[str, Any]:
        answer = await self.client.post(f"{OIDC}/token/introspect", data={"token": token}, auth=PORTAL)
        result: dict[str, Any] = answer.json()
        return result


@pytest.fixture
async def kc(tmp_path: Path) -> AsyncIterator[Harness]:
    clock = FakeClock()
    settings = StandinSettings(state_dir=tmp_path / "kc", demo_password=DEFAULT_DEMO_PASSWORD)
    app = create_app(settings, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield Harness(client, clock, app.state.standin)


async def test_access_token_expires_after_five_minutes(kc: Harness) -> None:
    tokens = (await kc.password_grant()).json()
    assert (await kc.userinfo(tokens["access_token"])).status_code == 200
    kc.clock.advance(301)
    assert (await kc.userinfo(tokens["access_token"])).status_code == 401
    assert (await kc.introspect(tokens["access_token"]))["active"] is False
    refreshed = await kc.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200
    assert (await kc.userinfo(refreshed.json()["access_token"])).status_code == 200


async def test_idle_session_ends_after_thirty_minutes(kc: Harness) -> None:
    tokens = (await kc.password_grant()).json()
    assert tokens["refresh_expires_in"] == 1800
    kc.clock.advance(1700)
    renewed = await kc.refresh(tokens["refresh_token"])
    assert renewed.status_code == 200  # activity keeps the session alive
    kc.clock.advance(1801)
    expired = await kc.refresh(renewed.json()["refresh_token"])
    assert expired.status_code == 400
    assert expired.json()["error"] == "invalid_grant"


async def test_session_max_lifespan(kc: Harness) -> None:
    tokens = (await kc.password_grant()).json()
    refresh = tokens["refresh_token"]
    for _ in range(35):  # 35 * 1000 s < 36000 s
        kc.clock.advance(1000)
        answer = await kc.refresh(refresh)
        assert answer.status_code == 200
        refresh = answer.json()["refresh_token"]
    kc.clock.advance(1001)
    final = await kc.refresh(refresh)
    assert final.status_code == 400


async def test_lockout_is_temporary(kc: Harness) -> None:
    for _ in range(5):
        kc.clock.advance(5)  # slower than the quick-login check
        assert (await kc.password_grant(password="wrong-Password-1")).status_code == 401
    locked = await kc.password_grant()
    assert locked.status_code == 401
    assert locked.json() == {"error": "invalid_grant", "error_description": "Invalid user credentials"}
    kc.clock.advance(61)
    assert (await kc.password_grant()).status_code == 200


async def test_quick_successive_failures_lock_at_once(kc: Harness) -> None:
    assert (await kc.password_grant(password="wrong-Password-1")).status_code == 401
    kc.clock.advance(0.2)
    assert (await kc.password_grant(password="wrong-Password-1")).status_code == 401
    kc.clock.advance(1)
    assert (await kc.password_grant()).status_code == 401
    kc.clock.advance(60)
    assert (await kc.password_grant()).status_code == 200


async def test_rotated_key_leaves_the_jwks_after_the_grace_period(kc: Harness) -> None:
    tokens = (await kc.password_grant()).json()
    before = {k["kid"] for k in (await kc.client.get(f"{OIDC}/certs")).json()["keys"]}
    new_kid = kc.core.rotate_keys(grace_seconds=60)
    kc.clock.advance(30)
    during = {k["kid"] for k in (await kc.client.get(f"{OIDC}/certs")).json()["keys"]}
    assert during == before | {new_kid}
    assert (await kc.userinfo(tokens["access_token"])).status_code == 200
    kc.clock.advance(31)
    after = {k["kid"] for k in (await kc.client.get(f"{OIDC}/certs")).json()["keys"]}
    assert after == {new_kid}
    assert (await kc.userinfo(tokens["access_token"])).status_code == 401


async def test_events_filtered_by_time(kc: Harness) -> None:
    await kc.password_grant()
    cutoff_ms = int(kc.clock.now * 1000) + 1
    kc.clock.advance(10)
    await kc.password_grant(password="wrong-Password-1")
    later = kc.core.events(date_from=cutoff_ms)
    assert [e["type"] for e in later] == ["LOGIN_ERROR"]
    assert [e["type"] for e in kc.core.events(date_to=cutoff_ms)] == ["LOGIN"]
    assert [e["type"] for e in kc.core.events(ascending=True)] == ["LOGIN", "LOGIN_ERROR"]


def test_keycloak_admin_gets_a_new_token_when_its_token_expired(tmp_path: Path) -> None:
    """In a real HTTP server thread: python-keycloak re-authenticates (client credentials) after a 401."""
    clock = FakeClock()
    settings = StandinSettings(state_dir=tmp_path / "kc", demo_password=DEFAULT_DEMO_PASSWORD)
    with StandinThread(settings, clock=clock) as server:
        admin = KeycloakTarget.for_standin(server).admin()
        assert admin.get_user_id("qlcl.admin")
        first_token = admin.connection.token["access_token"]
        clock.advance(301)  # the server now considers the admin's token expired
        assert admin.get_user_id("sgd-hn")
        assert admin.connection.token["access_token"] != first_token
