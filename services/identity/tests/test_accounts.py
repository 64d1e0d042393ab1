"""Accounts over Keycloak: issue, first login, adoption, the one-unit-account rule, handover."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from keycloak.exceptions import KeycloakError
from phoi_local.keycloak.testing import create_test_user, error_body, new_password
from phoi_local.testkit import wait_for


async def test_issue_first_login_then_the_token_works(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity(login_events_poll_seconds=0.2) as svc:
        client = svc.client
        unit = await helpers.new_unit(client, admin_headers)
        response = await client.post(
            "/api/v1/accounts",
            json={
                "kind": "unit",
                "unit_code": unit["code"],
                "holder": {"name": "Phạm Quốc Dũng", "position": "Chuyên viên", "email": "dung.pq@phoi.example"},
            },
            headers=admin_headers,
        )
        assert response.status_code == 201, response.text
        assert response.headers["cache-control"] == "no-store"
        account = response.json()
        assert account["username"] == unit["code"].lower()  # named after the unit
        assert account["status"] == "pending_first_login"
        assert account["role"] == "unit_account"
        temporary = account["temporary_password"]
        assert len(temporary) >= 12
        assert response.headers["location"] == f"/api/v1/accounts/{account['id']}"

        # Keycloak: the user, its role, its unit, the required action
        admin = keycloak.admin()
        user = admin.get_user(account["keycloak_user_id"])
        assert user["username"] == account["username"]
        assert user["enabled"] is True
        assert user["requiredActions"] == ["UPDATE_PASSWORD"]
        assert user["attributes"]["unit_code"] == [unit["code"]]
        assert (user["firstName"], user["lastName"]) == ("Dũng", "Phạm Quốc")
        assert "unit_account" in {r["name"] for r in admin.get_realm_roles_of_user(user["id"])}

        # the password is shown once: GET never shows it, nothing stores it
        again = (await client.get(f"/api/v1/accounts/{account['id']}", headers=admin_headers)).json()
        assert "temporary_password" not in again
        events = await helpers.outbox(svc)
        assert all(temporary not in str(data) for _, data in events)
        created = [data for kind, data in events if kind == "account.created.v1"]
        assert created[0]["must_change_password"] is True
        assert created[0]["unit_code"] == unit["code"]

        # first login with the temporary password is refused until the password is changed
        openid = keycloak.openid()
        with pytest.raises(KeycloakError) as refused:
            openid.token(account["username"], temporary)
        assert error_body(refused.value)["error"] == "invalid_grant"
        assert "not fully set up" in error_body(refused.value)["error_description"]

        password = await asyncio.to_thread(helpers.activate, keycloak, account)
        tokens = openid.token(account["username"], password)
        me = await client.get("/api/v1/me", headers=helpers.bearer(tokens["access_token"]))
        assert me.status_code == 200
        assert me.json()["unit_code"] == unit["code"]
        assert me.json()["roles"] == ["unit_account"]

        # the login-event poller saw the password change: the account is active, the events published
        async def active() -> bool:
            got = await client.get(f"/api/v1/accounts/{account['id']}", headers=admin_headers)
            return bool(got.json()["status"] == "active" and got.json()["last_login_at"])

        await wait_for(active, timeout=10, what="account active after the password change")
        types = [kind for kind, _ in await helpers.outbox(svc)]
        assert "auth.password_updated.v1" in types
        assert "auth.login_succeeded.v1" in types
        assert "auth.login_failed.v1" in types  # the refused first attempt


async def test_one_unit_account_per_unit(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    # service_app, not api_app: two requests race, each in a transaction of its own
    async with identity(background=False) as svc:
        client = svc.client
        unit = await helpers.new_unit(client, admin_headers)
        await helpers.new_unit_account(client, admin_headers, unit["code"])
        second = await client.post(
            "/api/v1/accounts",
            json={"kind": "unit", "unit_code": unit["code"], "username": "second-try", "holder": {"name": "Lê Văn C"}},
            headers=admin_headers,
        )
        assert second.status_code == 409
        assert second.headers["content-type"].startswith("application/problem+json")
        assert second.json()["code"] == "unit_account_exists"
        assert keycloak.admin().get_user_id("second-try") is None

        # two at once: the database's partial unique index decides; the loser's Keycloak user is removed
        other = await helpers.new_unit(client, admin_headers)
        names = [f"race-{i}-{other['code'].lower()}" for i in range(2)]
        answers = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/accounts",
                    json={"kind": "unit", "unit_code": other["code"], "username": n, "holder": {"name": "Lê Văn C"}},
                    headers=admin_headers,
                )
                for n in names
            )
        )
        assert sorted(a.status_code for a in answers) == [201, 409]
        assert all(a.json()["code"] == "unit_account_exists" for a in answers if a.status_code == 409)
        in_keycloak = [n for n in names if keycloak.admin().get_user_id(n) is not None]
        assert len(in_keycloak) == 1
        assert await helpers.count(svc, "keycloak_journal") == 0


async def test_account_rules(identity_api: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any) -> None:
    async with identity_api() as svc:
        client = svc.client
        qlcl = await helpers.new_unit(client, admin_headers, kind="issuer")

        async def post(body: dict[str, Any]) -> Any:
            return await client.post("/api/v1/accounts", json=body, headers=admin_headers)

        holder = {"name": "Trần Thị Bình"}
        cases = [
            ({"kind": "unit", "unit_code": qlcl["code"], "holder": holder}, 422, "invalid_account"),
            ({"kind": "unit", "unit_code": "NO-SUCH", "holder": holder}, 422, "invalid_account"),
            ({"kind": "individual", "role": "unit_account", "username": "x-abc", "holder": holder}, 422, None),
            ({"kind": "individual", "username": "x-abc", "holder": holder}, 422, "invalid_account"),
            ({"kind": "individual", "role": "qlcl_officer", "username": "có dấu", "holder": holder}, 422, None),
            ({"kind": "unit", "unit_code": qlcl["code"]}, 422, "validation_failed"),
            ({"keycloak_username": "nobody-here-at-all", "username": "x"}, 422, "validation_failed"),
        ]
        for body, status, code in cases:
            answer = await post(body)
            assert answer.status_code == status, (body, answer.text)
            if code:
                assert answer.json()["code"] == code, (body, answer.text)
        officer = await post(
            {
                "kind": "individual",
                "role": "qlcl_officer",
                "unit_code": qlcl["code"],
                "username": "Officer.X1",
                "holder": holder,
            }
        )
        assert officer.status_code == 201, officer.text
        assert officer.json()["username"] == "officer.x1"
        assert officer.json()["unit_code"] == qlcl["code"]
        taken = await post({"kind": "individual", "role": "auditor", "username": "officer.x1", "holder": holder})
        assert taken.status_code == 409
        assert taken.json()["code"] == "username_taken"
        assert await helpers.count(svc, "accounts") == 1

        # an official leaves: the account is disabled for good, the holder's period closed
        account = officer.json()
        gone = await client.post(
            f"/api/v1/accounts/{account['id']}/disable", json={"reason": "Nghỉ hưu"}, headers=admin_headers
        )
        assert gone.status_code == 200, gone.text
        assert gone.json()["status"] == "disabled"
        assert keycloak.admin().get_user(account["keycloak_user_id"])["enabled"] is False
        again = await client.post(
            f"/api/v1/accounts/{account['id']}/disable", json={"reason": "x"}, headers=admin_headers
        )
        assert again.status_code == 409
        chain = (await client.get(f"/api/v1/accounts/{account['id']}/holders", headers=admin_headers)).json()
        assert chain["items"][0]["held_to"] is not None
        assert [k for k, _ in await helpers.outbox(svc)][-1] == "account.disabled.v1"


async def test_adopt_an_existing_keycloak_user(
    identity_api: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity_api() as svc:
        client = svc.client
        unit = await helpers.new_unit(client, admin_headers)
        existing = create_test_user(keycloak.admin(), role="unit_account", unit_code=unit["code"])
        adopted = await client.post(
            "/api/v1/accounts", json={"keycloak_username": existing.username}, headers=admin_headers
        )
        assert adopted.status_code == 201, adopted.text
        body = adopted.json()
        assert body["temporary_password"] is None
        assert body["adopted"] is True
        assert body["status"] == "active"
        assert body["kind"] == "unit"
        assert body["unit_code"] == unit["code"]
        assert body["keycloak_user_id"] == existing.id
        assert body["holder"]["name"] == "Người Dùng Thử"  # from Keycloak's names, family name first
        # the password was not touched
        assert keycloak.openid().token(existing.username, existing.password)["access_token"]

        again = await client.post(
            "/api/v1/accounts", json={"keycloak_username": existing.username}, headers=admin_headers
        )
        assert again.status_code == 409
        assert again.json()["code"] == "account_exists"
        missing = await client.post(
            "/api/v1/accounts", json={"keycloak_username": "no-such-user-x"}, headers=admin_headers
        )
        assert missing.status_code == 422
        assert missing.json()["code"] == "keycloak_user_not_found"
        officer = create_test_user(keycloak.admin(), role="qlcl_officer")
        mismatch = await client.post(
            "/api/v1/accounts", json={"keycloak_username": officer.username, "role": "auditor"}, headers=admin_headers
        )
        assert mismatch.status_code == 422
        assert mismatch.json()["code"] == "keycloak_user_mismatch"
        created = [data for kind, data in await helpers.outbox(svc) if kind == "account.created.v1"]
        assert [(c["username"], c["must_change_password"]) for c in created] == [(existing.username, False)]


async def test_handover_ends_the_old_password_and_sessions(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity() as svc:
        client = svc.client
        unit = await helpers.new_unit(client, admin_headers)
        account = await helpers.new_unit_account(client, admin_headers, unit["code"])
        old_password = await asyncio.to_thread(helpers.activate, keycloak, account)
        openid = keycloak.openid()
        session = openid.token(account["username"], old_password)  # the old holder is signed in
        old_headers = helpers.bearer(session["access_token"])
        assert (await client.get("/api/v1/units", headers=old_headers)).status_code == 200

        current = (await client.get(f"/api/v1/accounts/{account['id']}", headers=admin_headers)).json()
        stale = await client.post(
            f"/api/v1/accounts/{account['id']}/handover",
            json={"holder": {"name": "Võ Thị Thu Hương"}},
            headers={**admin_headers, "If-Match": f'"{current["version"] + 5}"'},
        )
        assert stale.status_code == 412
        assert stale.json()["code"] == "version_mismatch"

        handed = await client.post(
            f"/api/v1/accounts/{account['id']}/handover",
            json={
                "holder": {"name": "Võ Thị Thu Hương", "position": "Phó phòng", "email": "huong.vtt@phoi.example"},
                "reason": "Người giữ tài khoản chuyển công tác",
            },
            headers={**admin_headers, "If-Match": f'"{current["version"]}"'},
        )
        assert handed.status_code == 201, handed.text
        assert handed.headers["cache-control"] == "no-store"
        after = handed.json()
        assert after["status"] == "pending_first_login"
        assert after["holder"]["name"] == "Võ Thị Thu Hương"
        new_temporary = after["temporary_password"]
        assert new_temporary
        assert new_temporary != account["temporary_password"]

        # the old password no longer works, nor the old session
        with pytest.raises(KeycloakError):
            openid.token(account["username"], old_password)
        with pytest.raises(KeycloakError):
            openid.refresh_token(session["refresh_token"])
        assert keycloak.portal().introspect(session["access_token"])["active"] is False

        # nor the old access token here (the identity service consumes its own account.handed_over)
        async def refused() -> bool:
            answer: httpx.Response = await client.get("/api/v1/units", headers=old_headers)
            return answer.status_code == 401

        await wait_for(refused, timeout=5, what="the old holder's token refused")
        assert (await client.get("/api/v1/units", headers=old_headers)).json()["code"] == "token_revoked"

        # the new holder must change the password at once
        user = keycloak.admin().get_user(account["keycloak_user_id"])
        assert user["requiredActions"] == ["UPDATE_PASSWORD"]
        assert user["email"] == "huong.vtt@phoi.example"
        assert user["attributes"]["unit_code"] == [unit["code"]]  # kept by the read-modify-write update
        with pytest.raises(KeycloakError):
            openid.token(account["username"], new_temporary)
        # tokens issued in the second of the handover are refused (iat has whole seconds): a new login
        # waits for the next second, as a real holder would without noticing
        handed_at = time.time()
        await wait_for(_after(handed_at + 1), timeout=3, what="the next second")
        new_password_ = new_password()
        await asyncio.to_thread(
            helpers.change_temporary_password, keycloak, account["username"], new_temporary, new_password_
        )
        fresh = openid.token(account["username"], new_password_)
        assert (await client.get("/api/v1/units", headers=helpers.bearer(fresh["access_token"]))).status_code == 200

        await _assert_holder_chain(client, svc, admin_headers, account["id"], helpers)


async def _assert_holder_chain(
    client: Any, svc: Any, admin_headers: dict[str, str], account_id: str, helpers: Any
) -> None:
    """The chain of holders, with dates, and the handover event naming both."""
    chain = (await client.get(f"/api/v1/accounts/{account_id}/holders", headers=admin_headers)).json()["items"]
    assert [h["name"] for h in chain] == ["Nguyễn Văn An", "Võ Thị Thu Hương"]
    assert chain[0]["held_to"] == chain[1]["held_from"]
    assert chain[1]["held_to"] is None
    assert chain[1]["reason"] == "Người giữ tài khoản chuyển công tác"
    handed_over = [data for kind, data in await helpers.outbox(svc) if kind == "account.handed_over.v1"]
    assert handed_over[0]["previous_holder"] == "Nguyễn Văn An"
    assert handed_over[0]["new_holder"] == "Võ Thị Thu Hương"
    assert handed_over[0]["tokens_not_before"]


def _after(instant: float) -> Any:
    async def passed() -> bool:
        return time.time() >= instant

    return passed
