"""Break glass, end to end: the operator's command (`python -m phoi_identity.break_glass`, run as a
process with the service's environment, as `kubectl exec` runs it) against the real database and the
Keycloak stand-in gives the system an administrator again — re-activating a lost one or issuing a new
one — with a temporary password the holder must change, audited as the system with the operator's
name and reason (docs/DEPLOYMENT.md, "Lost administrator: break glass")."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import sys
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

OPERATOR = "Nguyễn Vận Hành"
REASON = "Phiếu hỗ trợ 2026-114: không còn quản trị viên đăng nhập được"


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def password(self) -> str:
        found = re.search(r"^temporary password: (\S+)$", self.out, re.MULTILINE)
        assert found, self.out + self.err
        return found.group(1)


async def break_glass(svc: Any, username: str) -> Ran:
    settings = svc.settings
    env = {
        **os.environ,
        "IDENTITY_DATABASE_URL": settings.database_url,
        "KEYCLOAK_URL": settings.keycloak_url,
        "KEYCLOAK_REALM": settings.keycloak_realm,
        "IDENTITY_KEYCLOAK_CLIENT_SECRET": settings.keycloak_client_secret,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "phoi_identity.break_glass",
        *("--username", username, "--operator", OPERATOR, "--reason", REASON),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


async def _envelopes(svc: Any) -> list[dict[str, Any]]:
    async with svc.runtime.database.session() as session:
        rows = (await session.execute(text("SELECT payload FROM outbox ORDER BY id"))).scalars()
        return [json.loads(row) for row in rows]


async def test_break_glass_re_activates_a_lost_administrator(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity(background=False) as svc:
        client = svc.client
        await helpers.new_unit(client, admin_headers, kind="issuer")
        lost = await helpers.new_individual(client, admin_headers, role="qlcl_admin")
        keycloak.admin().update_user(lost["keycloak_user_id"], {"enabled": False})  # nobody can sign in now
        before = len(await _envelopes(svc))

        ran = await break_glass(svc, lost["username"])
        assert ran.code == 0, ran.out + ran.err
        assert f"administrator account {lost['username']} re-activated" in ran.out

        # The holder signs in with the temporary password, must change it, and administers again.
        changed = await asyncio.to_thread(
            helpers.activate, keycloak, {"username": lost["username"], "temporary_password": ran.password}
        )
        token = keycloak.openid().token(lost["username"], changed)["access_token"]
        listed = await client.get("/api/v1/accounts", headers=helpers.bearer(token))
        assert listed.status_code == 200, listed.text

        # Audited: the account's change and an open incident naming the operator and the reason, as the system.
        new = (await _envelopes(svc))[before:]
        assert [e["type"] for e in new] == ["account.password_reset.v1", "incident.reported.v1"]
        assert {e["actorname"] for e in new} == {"system"}
        assert "actorid" not in new[0]
        incident = new[1]["data"]
        assert incident["account_id"] == lost["id"]
        assert OPERATOR in incident["description"]
        assert REASON in incident["description"]
        assert ran.password not in json.dumps(new)
        shown = (await client.get(f"/api/v1/incidents/{incident['incident_id']}", headers=admin_headers)).json()
        assert (shown["status"], shown["kind"]) == ("open", "other")
        account = (await client.get(f"/api/v1/accounts/{lost['id']}", headers=admin_headers)).json()
        assert account["status_reason"] == f"Break glass by {OPERATOR}: {REASON}"


async def test_break_glass_issues_an_administrator_and_refuses_the_wrong_account(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity(background=False) as svc:
        client = svc.client
        issuer = await helpers.new_unit(client, admin_headers, kind="issuer")
        username = f"bg-{secrets.token_hex(4)}"

        ran = await break_glass(svc, username)
        assert ran.code == 0, ran.out + ran.err
        assert f"administrator account {username} issued" in ran.out
        listed = (await client.get("/api/v1/accounts?role=qlcl_admin", headers=admin_headers)).json()["items"]
        assert [(a["username"], a["unit_code"], a["status"]) for a in listed] == [
            (username, issuer["code"], "pending_first_login")
        ]
        assert listed[0]["holder"]["name"] == OPERATOR
        user = keycloak.admin().get_user(listed[0]["keycloak_user_id"])
        assert user["requiredActions"] == ["UPDATE_PASSWORD"]
        assert [e["type"] for e in await _envelopes(svc)][-2:] == ["account.created.v1", "incident.reported.v1"]

        # Only an administrator's account is re-activated; a disabled one is history.
        officer = await helpers.new_individual(client, admin_headers)
        refused = await break_glass(svc, officer["username"])
        assert (refused.code, refused.out) == (2, "")
        assert "refused (invalid_account)" in refused.err
        await helpers.new_individual(client, admin_headers, role="qlcl_admin")
        gone = await client.post(
            f"/api/v1/accounts/{listed[0]['id']}/disable", json={"reason": "nghỉ hưu"}, headers=admin_headers
        )
        assert gone.status_code == 200, gone.text
        refused = await break_glass(svc, username)
        assert refused.code == 2
        assert "refused (account_state_conflict)" in refused.err
