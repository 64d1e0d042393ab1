"""The directory and Keycloak stay consistent: no account in one and not the other.

Failures are real, not mocked: Keycloak unreachable (the service pointed at a closed port for a call),
a database insert refused by a constraint, users changed or removed in Keycloak behind the service's
back, a crash between the Keycloak call and the commit (a journal entry left behind)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from phoi_identity.adapters.keycloak import KeycloakAdapter
from phoi_identity.models import KeycloakJournalRow
from phoi_identity.service.reconcile import reconcile
from phoi_local.keycloak.testing import create_test_user
from phoi_local.procutil import free_port


def unreachable_keycloak(svc: Any) -> KeycloakAdapter:
    settings = svc.settings
    return KeycloakAdapter(
        server_url=f"http://127.0.0.1:{free_port()}/",  # nothing listens there
        realm=settings.keycloak_realm,
        client_id=settings.keycloak_client_id,
        client_secret=settings.keycloak_client_secret,
        timeout=2,
        attempts=2,
        wait_initial=0.05,
        wait_max=0.1,
    )


async def test_keycloak_down_writes_nothing_but_a_lock_still_holds(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity(reconcile_grace_seconds=0, background=False) as svc:
        client = svc.client
        unit = await helpers.new_unit(client, admin_headers)
        account = await helpers.new_unit_account(client, admin_headers, unit["code"])
        ctx = svc.app.state.identity
        working = ctx.keycloak
        before = await helpers.outbox(svc)

        ctx.keycloak = unreachable_keycloak(svc)
        try:
            other = await helpers.new_unit(client, admin_headers)
            answer = await client.post(
                "/api/v1/accounts",
                json={"kind": "unit", "unit_code": other["code"], "username": "kc-down-x", "holder": {"name": "Lê C"}},
                headers=admin_headers,
            )
            assert answer.status_code == 503
            assert answer.json()["code"] == "keycloak_unavailable"
            assert answer.headers["retry-after"]
            assert await helpers.count(svc, "accounts") == 1
            assert await helpers.count(svc, "account_holders") == 1
            # the attempt stays in the journal: a lost answer could hide a created user
            assert await helpers.count(svc, "keycloak_journal") == 1
            assert [k for k, _ in await helpers.outbox(svc)] == [k for k, _ in before] + ["unit.created.v1"]
            assert keycloak.admin().get_user_id("kc-down-x") is None

            handover = await client.post(
                f"/api/v1/accounts/{account['id']}/handover", json={"holder": {"name": "Lê C"}}, headers=admin_headers
            )
            assert handover.status_code == 503
            unchanged = (await client.get(f"/api/v1/accounts/{account['id']}", headers=admin_headers)).json()
            assert unchanged["holder"]["name"] == "Nguyễn Văn An"
            assert unchanged["version"] == account["version"]

            # a lock must not wait for Keycloak: locked here, tokens refused everywhere, Keycloak to follow
            locked = await client.post(
                f"/api/v1/accounts/{account['id']}/lock", json={"reason": "Nghi lộ mật khẩu"}, headers=admin_headers
            )
            assert locked.status_code == 200, locked.text
            assert locked.json()["status"] == "locked"
            assert locked.json()["keycloak_synced"] is False
            assert (await helpers.outbox(svc))[-1][0] == "account.locked.v1"
            assert keycloak.admin().get_user(account["keycloak_user_id"])["enabled"] is True
        finally:
            await ctx.keycloak.aclose()
            ctx.keycloak = working

        # Keycloak is back: reconciliation finishes the lock
        report = (await client.post("/api/v1/reconcile", headers=admin_headers)).json()
        assert report["keycloak_users_disabled_again"] == [account["username"]]
        assert keycloak.admin().get_user(account["keycloak_user_id"])["enabled"] is False
        assert report["journal_entries_cleared"] == 1  # Keycloak has no such user: nothing to delete
        assert report["orphan_keycloak_users_deleted"] == []
        assert await helpers.count(svc, "keycloak_journal") == 0


async def test_a_failed_insert_deletes_the_keycloak_user_again(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity(background=False) as svc:
        client = svc.client
        first = await helpers.new_individual(client, admin_headers)
        admin = keycloak.admin()
        admin.delete_user(first["keycloak_user_id"])  # behind the service's back: the name is free in Keycloak

        # Keycloak accepts the name, the database refuses it (unique username): the user is deleted again
        again = await client.post(
            "/api/v1/accounts",
            json={"kind": "individual", "role": "auditor", "username": first["username"], "holder": {"name": "Đỗ D"}},
            headers=admin_headers,
        )
        assert again.status_code == 409, again.text
        assert again.json()["code"] == "username_taken"
        assert admin.get_user_id(first["username"]) is None
        assert await helpers.count(svc, "keycloak_journal") == 0
        assert await helpers.count(svc, "accounts") == 1
        assert [k for k, _ in await helpers.outbox(svc)] == ["account.created.v1"]

        # and reconciliation finds the account whose user vanished
        report = (await client.post("/api/v1/reconcile", headers=admin_headers)).json()
        assert report["accounts_marked_disabled"] == [first["username"]]
        dead = (await client.get(f"/api/v1/accounts/{first['id']}", headers=admin_headers)).json()
        assert dead["status"] == "disabled"
        disabled = [d for k, d in await helpers.outbox(svc) if k == "account.disabled.v1"]
        assert disabled[0]["user_id"] == first["keycloak_user_id"]


async def test_reconcile_deletes_an_orphan_left_by_a_crash(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity(background=False) as svc:
        admin = keycloak.admin()
        # as if the process died after creating the Keycloak user and before its commit
        orphan = create_test_user(admin, role="unit_account", unit_code="SGD-HN")
        recent = create_test_user(admin, role="qlcl_officer")  # a creation still in flight
        unrelated = create_test_user(admin, role="auditor")  # not ours: never touched
        async with svc.runtime.database.session() as session:
            session.add(
                KeycloakJournalRow(
                    id=uuid.uuid4(),
                    operation="create_user",
                    username=orphan.username,
                    started_at=datetime.now(UTC) - timedelta(seconds=30),
                )
            )
            session.add(KeycloakJournalRow(id=uuid.uuid4(), operation="create_user", username=recent.username))
            await session.commit()

        report = await reconcile(svc.app.state.identity, grace_seconds=10)
        assert report.orphan_keycloak_users_deleted == [orphan.username]
        assert report.journal_entries_cleared == 1
        assert admin.get_user_id(orphan.username) is None
        assert admin.get_user_id(recent.username) == recent.id
        assert admin.get_user_id(unrelated.username) == unrelated.id
        assert await helpers.count(svc, "keycloak_journal") == 1  # the recent one waits for its grace period


async def test_reconcile_follows_keycloak_changes_made_behind_the_services_back(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity(background=False) as svc:
        client = svc.client
        admin = keycloak.admin()
        accounts = [await helpers.new_individual(client, admin_headers) for _ in range(4)]
        disabled_outside, password_changed, reenabled_outside, reset_outside = accounts

        # the holder changed the password (the login-event poller is off here, so only reconcile sees it)
        await asyncio.to_thread(helpers.activate, keycloak, password_changed)
        await asyncio.to_thread(helpers.activate, keycloak, reset_outside)
        first = (await client.post("/api/v1/reconcile", headers=admin_headers)).json()
        assert sorted(first["accounts_marked_active"]) == sorted(
            [password_changed["username"], reset_outside["username"]]
        )
        admin.update_user(disabled_outside["keycloak_user_id"], {"enabled": False})
        admin.set_user_password(reset_outside["keycloak_user_id"], "Temp-Outside-123!", temporary=True)
        lock = await client.post(
            f"/api/v1/accounts/{reenabled_outside['id']}/lock", json={"reason": "x"}, headers=admin_headers
        )
        assert lock.status_code == 200
        admin.update_user(reenabled_outside["keycloak_user_id"], {"enabled": True})

        report = (await client.post("/api/v1/reconcile", headers=admin_headers)).json()
        assert report["accounts_marked_locked"] == [disabled_outside["username"]]
        assert report["accounts_marked_pending"] == [reset_outside["username"]]
        assert report["keycloak_users_disabled_again"] == [reenabled_outside["username"]]
        assert report["accounts_marked_disabled"] == []

        async def status(account: dict[str, Any]) -> str:
            got = await client.get(f"/api/v1/accounts/{account['id']}", headers=admin_headers)
            return str(got.json()["status"])

        assert await status(disabled_outside) == "locked"
        assert await status(password_changed) == "active"
        assert await status(reset_outside) == "pending_first_login"
        assert await status(reenabled_outside) == "locked"
        assert admin.get_user(reenabled_outside["keycloak_user_id"])["enabled"] is False
        events = await helpers.outbox(svc)
        locked_outside = [
            d for k, d in events if k == "account.locked.v1" and d["account_id"] == disabled_outside["id"]
        ]
        assert locked_outside[0]["reason"] == "Disabled in Keycloak outside the identity service."
        assert any(k == "account.password_reset.v1" and d["account_id"] == reset_outside["id"] for k, d in events)

        quiet = (await client.post("/api/v1/reconcile", headers=admin_headers)).json()  # nothing left to do
        assert not any(v for k, v in quiet.items() if k not in ("unregistered_keycloak_users",))
