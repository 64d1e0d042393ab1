"""Access incidents (Article 8.5): a suspected takeover locks the account at once and every service
refuses its tokens within seconds; QLCL resolves."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import httpx
import pytest
from keycloak.exceptions import KeycloakError
from phoi_local.keycloak.testing import error_body
from phoi_local.testkit import wait_for

REFUSAL_BUDGET_SECONDS = 5.0


async def _assert_incident_events(helpers: Any, idp: Any, incident: dict[str, Any], account: dict[str, Any]) -> None:
    """The outbox tells the story: reported, locked, password reset, unlocked, resolved."""
    types = [kind for kind, _ in await helpers.outbox(idp)]
    tail = types[types.index("incident.reported.v1") :]
    assert tail == [
        "incident.reported.v1",
        "account.locked.v1",
        "account.password_reset.v1",
        "account.unlocked.v1",
        "incident.resolved.v1",
    ]
    locked = next(data for kind, data in await helpers.outbox(idp) if kind == "account.locked.v1")
    assert locked["incident_id"] == incident["id"]
    assert locked["user_id"] == account["keycloak_user_id"]


async def test_suspected_compromise_is_refused_everywhere_within_seconds(
    identity: Any, service_app: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        idp = await stack.enter_async_context(identity())
        others = {
            name: await stack.enter_async_context(service_app(name, topic_prefix=idp.topic_prefix))
            for name in ("inventory", "requests")
        }
        for svc in (idp, *others.values()):  # consumers in their groups before the clock starts
            await asyncio.wait_for(svc.runtime.consumer.assigned.wait(), 30)

        unit = await helpers.new_unit(idp.client, admin_headers)
        account = await helpers.new_unit_account(idp.client, admin_headers, unit["code"])
        password = await asyncio.to_thread(helpers.activate, keycloak, account)
        victim = helpers.bearer(keycloak.openid().token(account["username"], password)["access_token"])
        for svc in (idp, *others.values()):
            assert (await svc.client.get("/api/v1/me", headers=victim)).status_code == 200

        # the holder reports (with the account's own token: it is the one reporting, naming no account)
        started = time.monotonic()
        reported = await idp.client.post(
            "/api/v1/incidents",
            json={"kind": "suspected_compromise", "description": "Có người lạ đăng nhập tài khoản đơn vị."},
            headers=victim,
        )
        assert reported.status_code == 201, reported.text
        incident = reported.json()
        assert incident["kind"] == "suspected_takeover"
        assert incident["account_id"] == account["id"]
        assert incident["account_locked"] is True
        assert incident["keycloak_synced"] is True

        for name, svc in {"identity": idp, **others}.items():

            async def refused(svc: Any = svc) -> bool:
                answer: httpx.Response = await svc.client.get("/api/v1/me", headers=victim)
                if answer.status_code != 401:
                    return False
                code: str = answer.json()["code"]
                return code == "token_revoked"

            await wait_for(refused, timeout=REFUSAL_BUDGET_SECONDS, what=f"{name} refuses the locked account's token")
        assert time.monotonic() - started < REFUSAL_BUDGET_SECONDS

        # Keycloak: disabled, no new tokens
        assert keycloak.admin().get_user(account["keycloak_user_id"])["enabled"] is False
        with pytest.raises(KeycloakError) as denied:
            keycloak.openid().token(account["username"], password)
        assert error_body(denied.value)["error"] == "invalid_grant"

        # QLCL sees it open; unlocking past the incident is refused: resolve it
        listed = (await idp.client.get("/api/v1/incidents?status=open", headers=admin_headers)).json()["items"]
        assert [i["id"] for i in listed] == [incident["id"]]
        unlock = await idp.client.post(
            f"/api/v1/accounts/{account['id']}/unlock", json={"reason": "thử"}, headers=admin_headers
        )
        assert unlock.status_code == 409
        assert unlock.json()["code"] == "incident_open"

        resolved = await idp.client.post(
            f"/api/v1/incidents/{incident['id']}/resolve",
            json={"action": "reset_password", "resolution": "Đã xác minh với đơn vị; cấp lại mật khẩu."},
            headers=admin_headers,
        )
        assert resolved.status_code == 200, resolved.text
        assert resolved.headers["cache-control"] == "no-store"
        body = resolved.json()
        assert body["status"] == "resolved"
        assert body["resolution_action"] == "reset_password"
        assert body["account"]["status"] == "pending_first_login"
        assert body["temporary_password"]
        user = keycloak.admin().get_user(account["keycloak_user_id"])
        assert user["enabled"] is True
        assert user["requiredActions"] == ["UPDATE_PASSWORD"]
        # the stolen token stays dead after the unlock
        assert (await others["inventory"].client.get("/api/v1/me", headers=victim)).status_code == 401

        again = await idp.client.post(
            f"/api/v1/incidents/{incident['id']}/resolve",
            json={"action": "none", "resolution": "lần nữa"},
            headers=admin_headers,
        )
        assert again.status_code == 409
        assert again.json()["code"] == "incident_resolved"

        await _assert_incident_events(helpers, idp, incident, account)


async def _listing_is_scoped(
    client: Any,
    everything: set[str],
    *,
    readers: dict[str, dict[str, str]],
    unit_a: tuple[dict[str, str], str],
    takeover_id: str,
    own_id: str,
) -> None:
    """QLCL admin and auditor see every incident, an officer its own, a unit its unit's; pages chain."""
    admin_headers = readers["admin"]
    unit_a_token, unreachable_id = unit_a

    async def ids(headers: dict[str, str], query: str = "") -> list[str]:
        answer = await client.get(f"/api/v1/incidents{query}", headers=headers)
        assert answer.status_code == 200, answer.text
        return [i["id"] for i in answer.json()["items"]]

    assert set(await ids(admin_headers)) == everything
    assert set(await ids(readers["auditor"])) == everything
    assert await ids(unit_a_token) == [unreachable_id]
    assert await ids(readers["officer"]) == [own_id]
    assert await ids(admin_headers, "?kind=suspected_takeover") == [takeover_id]
    page = (await client.get("/api/v1/incidents?limit=2", headers=admin_headers)).json()
    assert len(page["items"]) == 2
    rest = (await client.get(f"/api/v1/incidents?limit=2&cursor={page['next_cursor']}", headers=admin_headers)).json()
    assert {i["id"] for i in page["items"] + rest["items"]} == everything
    assert rest["next_cursor"] is None
    hidden = await client.get(f"/api/v1/incidents/{takeover_id}", headers=unit_a_token)
    assert hidden.status_code == 404


async def test_incident_scope_kinds_and_resolutions(
    identity_api: Any, admin_headers: dict[str, str], token_for: Any, keycloak: Any, helpers: Any
) -> None:
    async with identity_api() as svc:
        client = svc.client
        unit_a = await helpers.new_unit(client, admin_headers)
        unit_b = await helpers.new_unit(client, admin_headers)
        account_b = await helpers.new_unit_account(client, admin_headers, unit_b["code"])
        unit_a_token = token_for("unit_account", unit_code=unit_a["code"]).headers

        unreachable = await client.post(
            "/api/v1/incidents",
            json={"kind": "cannot_access", "description": "Không vào được phần mềm từ 8 giờ sáng."},
            headers=unit_a_token,
        )
        assert unreachable.status_code == 201, unreachable.text
        assert unreachable.json()["kind"] == "unreachable"
        assert unreachable.json()["unit_code"] == unit_a["code"]
        assert unreachable.json()["account_locked"] is False

        # a unit cannot report about another unit's account or in another unit's name
        for body in (
            {"kind": "suspected_takeover", "description": "x", "account_id": account_b["id"]},
            {"kind": "other", "description": "x", "unit_code": unit_b["code"]},
        ):
            answer = await client.post("/api/v1/incidents", json=body, headers=unit_a_token)
            assert answer.status_code == 404, answer.text
        assert (await client.get(f"/api/v1/accounts/{account_b['id']}", headers=admin_headers)).json()[
            "status"
        ] == "pending_first_login"
        bad_kind = await client.post(
            "/api/v1/incidents", json={"kind": "phishing", "description": "x"}, headers=unit_a_token
        )
        assert bad_kind.status_code == 422

        # QLCL reports a takeover of B's account: locked; an officer's own report
        takeover = await client.post(
            "/api/v1/incidents",
            json={
                "kind": "suspected_takeover",
                "description": "Đăng nhập từ nước ngoài.",
                "account_id": account_b["id"],
            },
            headers=admin_headers,
        )
        assert takeover.json()["account_locked"] is True
        officer = token_for("qlcl_officer").headers
        own = await client.post("/api/v1/incidents", json={"kind": "other", "description": "Lỗi lạ"}, headers=officer)
        assert own.status_code == 201

        everything = {unreachable.json()["id"], takeover.json()["id"], own.json()["id"]}
        await _listing_is_scoped(
            client,
            everything,
            readers={"admin": admin_headers, "auditor": token_for("auditor").headers, "officer": officer},
            unit_a=(unit_a_token, unreachable.json()["id"]),
            takeover_id=takeover.json()["id"],
            own_id=own.json()["id"],
        )

        # resolving: only qlcl_admin; the action must fit the account's state
        forbidden = await client.post(
            f"/api/v1/incidents/{takeover.json()['id']}/resolve",
            json={"action": "keep_locked", "resolution": "x"},
            headers=officer,
        )
        assert forbidden.status_code == 403
        wrong = await client.post(
            f"/api/v1/incidents/{takeover.json()['id']}/resolve",
            json={"action": "none", "resolution": "x"},
            headers=admin_headers,
        )
        assert wrong.status_code == 422
        assert wrong.json()["code"] == "invalid_resolution"
        kept = await client.post(
            f"/api/v1/incidents/{takeover.json()['id']}/resolve",
            json={"action": "keep_locked", "resolution": "Giữ khoá đến khi bàn giao."},
            headers=admin_headers,
        )
        assert kept.status_code == 200, kept.text
        assert kept.json()["temporary_password"] is None
        assert kept.json()["account"]["status"] == "locked"
        closed = await client.post(
            f"/api/v1/incidents/{unreachable.json()['id']}/resolve",
            json={"action": "none", "resolution": "Lỗi mạng tại đơn vị."},
            headers=admin_headers,
        )
        assert closed.status_code == 200

        # with the incident closed, the administrator unlocks (a new temporary password)
        unlocked = await client.post(
            f"/api/v1/accounts/{account_b['id']}/unlock",
            json={"reason": "Đã bàn giao lại", "reset_password": True},
            headers=admin_headers,
        )
        assert unlocked.status_code == 200, unlocked.text
        assert unlocked.json()["status"] == "pending_first_login"
        assert unlocked.json()["temporary_password"]
        relock = await client.post(
            f"/api/v1/accounts/{account_b['id']}/lock", json={"reason": "Kiểm tra"}, headers=admin_headers
        )
        assert relock.status_code == 200
        assert relock.json()["keycloak_synced"] is True
        twice = await client.post(
            f"/api/v1/accounts/{account_b['id']}/lock", json={"reason": "Kiểm tra"}, headers=admin_headers
        )
        assert twice.status_code == 409
        assert twice.json()["code"] == "account_state_conflict"
        assert keycloak.admin().get_user(account_b["keycloak_user_id"])["enabled"] is False
