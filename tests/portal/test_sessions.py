"""The server-side session's lifetime on the real system: the access token is refreshed before it
expires, the session ends after 30 idle minutes or 10 hours, and a handover ends the old holder's
sessions within seconds (Article 8.4). The session rows are aged in the portal's own database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from phoi_kit.db import libpq_url
from phoi_local.system import Stack, portal_client
from phoi_portal.domain.session import hash_session_id

pytestmark = pytest.mark.slow

NEW_PASSWORD = "Phoi-Moi-2026!"


def portal_db(stack: Stack, sql: str, *args: Any) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(libpq_url(stack.services["portal"].env["PORTAL_DATABASE_URL"]))
        try:
            return await conn.fetchrow(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())  # the browser harness sets Playwright's loop aside for asyncio.run


@pytest.fixture
def signed_in(system_stack: Stack) -> Iterator[tuple[httpx.Client, str, str]]:
    _, username, temporary = system_stack.new_unit_account()
    client = portal_client(system_stack, username, temporary, new_password=NEW_PASSWORD)
    yield client, hash_session_id(client.cookies["phoi_session"]), username
    client.close()


def test_an_access_token_about_to_expire_is_refreshed_without_the_user_noticing(
    system_stack: Stack, signed_in: Any
) -> None:
    client, id_hash, _ = signed_in
    before = portal_db(system_stack, "SELECT access_token FROM portal_sessions WHERE id_hash = $1", id_hash)
    portal_db(
        system_stack,
        "UPDATE portal_sessions SET access_expires_at = now() + interval '5 seconds' WHERE id_hash = $1",
        id_hash,
    )
    page = client.get("/requests")
    assert page.status_code == 200
    after = portal_db(
        system_stack, "SELECT access_token, access_expires_at FROM portal_sessions WHERE id_hash = $1", id_hash
    )
    assert after["access_token"] != before["access_token"]
    assert after["access_expires_at"] > datetime.now(UTC) + timedelta(seconds=30)


def hand_over(stack: Stack, username: str) -> httpx.Response:
    """Hand the account to a new holder with the version just read (the first sign-in may bump it
    between the read and the write: then read again, as an official's page would)."""
    deadline = time.monotonic() + 10
    while True:
        accounts = stack.api("identity", "GET", "/api/v1/accounts", stack.admin).json()["items"]
        account = next(a for a in accounts if a["username"] == username)
        handed = stack.api(
            "identity",
            "POST",
            f"/api/v1/accounts/{account['id']}/handover",
            stack.admin,
            headers={"If-Match": f'"{account["version"]}"'},
            json={"holder": {"name": "Lê Văn Tâm", "position": "Chuyên viên"}, "reason": "Chuyển công tác"},
        )
        if handed.status_code != 412 or time.monotonic() > deadline:
            return handed


@pytest.mark.parametrize(
    "aged",
    [
        "last_seen_at = now() - interval '31 minutes'",  # idle
        "created_at = now() - interval '10 hours 1 minute', last_seen_at = now()",  # absolute
    ],
)
def test_a_session_past_its_idle_or_absolute_limit_ends(system_stack: Stack, signed_in: Any, aged: str) -> None:
    client, id_hash, _ = signed_in
    portal_db(system_stack, f"UPDATE portal_sessions SET {aged} WHERE id_hash = $1", id_hash)
    page = client.get("/dashboard")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=%2Fdashboard")
    assert portal_db(system_stack, "SELECT 1 FROM portal_sessions WHERE id_hash = $1", id_hash) is None


def test_a_handover_ends_the_old_holders_portal_sessions_within_5_seconds(system_stack: Stack, signed_in: Any) -> None:
    client, id_hash, username = signed_in
    handed = hand_over(system_stack, username)
    assert handed.status_code == 201, handed.text
    deadline = time.monotonic() + 5
    while portal_db(system_stack, "SELECT 1 FROM portal_sessions WHERE id_hash = $1", id_hash) is not None:
        assert time.monotonic() < deadline, "the old holder's session outlived the handover by 5 s"
        time.sleep(0.1)  # polling a condition with a deadline
    assert client.get("/dashboard").status_code == 303
