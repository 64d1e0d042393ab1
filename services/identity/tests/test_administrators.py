"""No single call takes the system's administration away (issue 14): the last live qlcl_admin account is
never locked or disabled, whoever asks and however many ask at once (the service's check and the
database's constraint trigger); a suspected takeover of it is reported but does not lock it;
reconciliation leaves it live when Keycloak disables it behind the service's back, and says so."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from phoi_identity.service.reconcile import reconcile
from phoi_kit.db import asyncpg_url
from phoi_local.testkit import wait_for


async def _status(client: Any, headers: dict[str, str], account: dict[str, Any]) -> str:
    got = await client.get(f"/api/v1/accounts/{account['id']}", headers=headers)
    return str(got.json()["status"])


async def test_the_last_administrator_is_not_taken_out_of_service(
    identity_api: Any, admin_headers: dict[str, str], token_for: Any, keycloak: Any, helpers: Any
) -> None:
    async with identity_api() as svc:
        client = svc.client
        first = await helpers.new_individual(client, admin_headers, role="qlcl_admin")
        path = f"/api/v1/accounts/{first['id']}"
        for action in ("lock", "disable"):
            refused = await client.post(f"{path}/{action}", json={"reason": "fuzz"}, headers=admin_headers)
            assert refused.status_code == 409, refused.text
            assert refused.json()["code"] == "last_administrator"
        kept = await client.get(path, headers=admin_headers)
        assert (kept.json()["status"], kept.headers["etag"]) == ("pending_first_login", '"1"')
        assert keycloak.admin().get_user(first["keycloak_user_id"])["enabled"] is True
        assert [kind for kind, _ in await helpers.outbox(svc)] == ["account.created.v1"]

        # A handover keeps the account live (the new holder's temporary password comes back): allowed.
        handed = await client.post(f"{path}/handover", json={"holder": {"name": "Hoàng Văn Em"}}, headers=admin_headers)
        assert handed.status_code == 201, handed.text
        assert handed.json()["status"] == "pending_first_login"

        # A suspected takeover of it is recorded, but locking it would leave nobody to resolve the report.
        reported = await client.post(
            "/api/v1/incidents",
            json={"kind": "suspected_takeover", "description": "Tài khoản quản trị bị lạ.", "account_id": first["id"]},
            headers=token_for("qlcl_officer").headers,
        )
        assert reported.status_code == 201, reported.text
        assert (reported.json()["status"], reported.json()["account_locked"]) == ("open", False)
        assert await _status(client, admin_headers, first) == "pending_first_login"

        # With a second administrator the first can go; then the second is the last.
        second = await helpers.new_individual(client, admin_headers, role="qlcl_admin")
        locked = await client.post(f"{path}/lock", json={"reason": "nghỉ phép"}, headers=admin_headers)
        assert locked.status_code == 200, locked.text
        for action in ("lock", "disable"):
            refused = await client.post(
                f"/api/v1/accounts/{second['id']}/{action}", json={"reason": "fuzz"}, headers=admin_headers
            )
            assert refused.json()["code"] == "last_administrator", refused.text
        # Other roles are not counted: the administrator issues their replacements.
        officer = await helpers.new_individual(client, admin_headers)
        gone = await client.post(
            f"/api/v1/accounts/{officer['id']}/disable", json={"reason": "x"}, headers=admin_headers
        )
        assert gone.status_code == 200, gone.text


async def test_two_administrators_locking_each_other_leave_one(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    # service_app, not api_app: two requests race, each in a transaction of its own
    async with identity(background=False) as svc:
        client = svc.client
        pair = [await helpers.new_individual(client, admin_headers, role="qlcl_admin") for _ in range(2)]
        answers = await asyncio.gather(
            *(
                client.post(f"/api/v1/accounts/{a['id']}/lock", json={"reason": "lẫn nhau"}, headers=admin_headers)
                for a in pair
            )
        )
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        assert [a.json()["code"] for a in answers if a.status_code == 409] == ["last_administrator"]
        statuses = [await _status(client, admin_headers, a) for a in pair]
        assert sorted(statuses) == ["locked", "pending_first_login"]
        survivor = pair[statuses.index("pending_first_login")]
        assert keycloak.admin().get_user(survivor["keycloak_user_id"])["enabled"] is True


async def _waiting_on_the_advisory_lock(conn: asyncpg.Connection, pid: int) -> bool:
    waiting = await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND NOT granted", pid
    )
    return bool(waiting)


async def test_the_database_refuses_to_lose_the_last_administrator(
    identity: Any, admin_headers: dict[str, str], helpers: Any
) -> None:
    """The constraint trigger, on its own (raw SQL, no service check): two transactions each taking one of
    two administrators away. The second waits on the trigger's lock, counts after the first committed,
    and is refused."""
    async with identity(background=False) as svc:
        a, b = [await helpers.new_individual(svc.client, admin_headers, role="qlcl_admin") for _ in range(2)]
        url = asyncpg_url(svc.database_url).replace("postgresql+asyncpg://", "postgresql://")
        first, second, watcher = [await asyncpg.connect(url) for _ in range(3)]
        try:
            lock = "UPDATE accounts SET status = 'locked' WHERE id = $1"
            first_tx, second_tx = first.transaction(), second.transaction()
            await first_tx.start()
            await first.execute(lock, a["id"])  # the trigger counts b: allowed, and holds the lock
            await second_tx.start()
            blocked = asyncio.create_task(second.execute(lock, b["id"]))
            await wait_for(
                lambda: _waiting_on_the_advisory_lock(watcher, second.get_server_pid()),
                timeout=10,
                what="the second transaction waiting on the administrators' lock",
            )
            await first_tx.commit()
            with pytest.raises(asyncpg.CheckViolationError, match="accounts_keep_an_administrator"):
                await blocked
            await second_tx.rollback()
            rows = await watcher.fetch("SELECT status FROM accounts WHERE role = 'qlcl_admin' ORDER BY status")
            assert [r["status"] for r in rows] == ["locked", "pending_first_login"]
        finally:
            for conn in (first, second, watcher):
                await conn.close()


async def test_keycloak_disabling_the_last_administrator_is_not_mirrored(
    identity: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity(background=False) as svc:
        client = svc.client
        only = await helpers.new_individual(client, admin_headers, role="qlcl_admin")
        keycloak.admin().update_user(only["keycloak_user_id"], {"enabled": False})  # behind our back

        report = await reconcile(svc.app.state.identity)
        assert report.last_administrator_not_mirrored == [only["username"]]
        assert report.accounts_marked_locked == []
        assert await _status(client, admin_headers, only) == "pending_first_login"
        assert [kind for kind, _ in await helpers.outbox(svc)] == ["account.created.v1"]
        again = await reconcile(svc.app.state.identity)  # every run says it again, until someone acts
        assert again.last_administrator_not_mirrored == [only["username"]]

        # Once there is another administrator, the change made in Keycloak is mirrored as usual.
        await helpers.new_individual(client, admin_headers, role="qlcl_admin")
        mirrored = await reconcile(svc.app.state.identity)
        assert mirrored.accounts_marked_locked == [only["username"]]
        assert mirrored.last_administrator_not_mirrored == []
        assert await _status(client, admin_headers, only) == "locked"
