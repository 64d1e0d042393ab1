"""Who may do what: only qlcl_admin manages units and accounts; a unit sees only itself."""

from __future__ import annotations

from typing import Any


async def test_only_qlcl_admin_manages_units_and_accounts(
    identity_api: Any, admin_headers: dict[str, str], token_for: Any, helpers: Any
) -> None:
    async with identity_api() as svc:
        client = svc.client
        unit = await helpers.new_unit(client, admin_headers)
        account = await helpers.new_unit_account(client, admin_headers, unit["code"])
        others = {
            "qlcl_officer": token_for("qlcl_officer").headers,
            "auditor": token_for("auditor").headers,
            "unit_account": token_for("unit_account", unit_code=unit["code"]).headers,
        }
        writes = [
            ("POST", "/api/v1/units", {"code": helpers.unique_code(), "name": "x", "kind": "department"}),
            ("PATCH", f"/api/v1/units/{unit['code']}", {"name": "y"}),
            ("POST", f"/api/v1/units/{unit['code']}/deactivate", {"reason": "x"}),
            ("POST", f"/api/v1/units/{unit['code']}/reactivate", {}),
            (
                "POST",
                "/api/v1/accounts",
                {"kind": "individual", "role": "qlcl_admin", "username": "evil", "holder": {"name": "X"}},
            ),
            ("POST", f"/api/v1/accounts/{account['id']}/handover", {"holder": {"name": "X"}}),
            ("POST", f"/api/v1/accounts/{account['id']}/lock", {"reason": "x"}),
            ("POST", f"/api/v1/accounts/{account['id']}/unlock", {}),
            ("POST", f"/api/v1/accounts/{account['id']}/disable", {"reason": "x"}),
            ("POST", "/api/v1/reconcile", None),
        ]
        for role, headers in others.items():
            for method, path, body in writes:
                answer = await client.request(method, path, json=body, headers={**headers, "If-Match": '"1"'})
                assert answer.status_code == 403, (role, method, path, answer.text)
                assert answer.json()["code"] == "role_required"
        assert await helpers.count(svc, "units") == 1
        assert await helpers.count(svc, "accounts") == 1
        denied = [data for kind, data in await helpers.outbox(svc) if kind == "security.access_denied.v1"]
        assert len(denied) == len(others) * len(writes)
        assert {d["reason"] for d in denied} == {"role_required"}

        for method, path, body in writes[:3]:
            answer = await client.request(method, path, json=body)
            assert answer.status_code == 401


async def test_a_unit_sees_only_itself(
    identity_api: Any, admin_headers: dict[str, str], token_for: Any, helpers: Any
) -> None:
    async with identity_api() as svc:
        client = svc.client
        mine = await helpers.new_unit(client, admin_headers)
        theirs = await helpers.new_unit(client, admin_headers)
        my_account = await helpers.new_unit_account(client, admin_headers, mine["code"])
        their_account = await helpers.new_unit_account(client, admin_headers, theirs["code"])
        me = token_for("unit_account", unit_code=mine["code"]).headers

        async def get(path: str, headers: dict[str, str] = me) -> Any:
            return await client.get(path, headers=headers)

        assert [u["code"] for u in (await get("/api/v1/units")).json()["items"]] == [mine["code"]]
        assert (await get(f"/api/v1/units/{mine['code']}")).status_code == 200
        assert (await get(f"/api/v1/units/{theirs['code']}")).status_code == 404
        assert (await get(f"/api/v1/units/{theirs['code'].lower()}")).status_code == 404
        assert [a["id"] for a in (await get("/api/v1/accounts")).json()["items"]] == [my_account["id"]]
        assert (await get(f"/api/v1/accounts?unit_code={theirs['code']}")).json()["items"] == []
        assert (await get(f"/api/v1/accounts/{my_account['id']}")).status_code == 200
        assert (await get(f"/api/v1/accounts/{their_account['id']}")).status_code == 404
        assert (await get(f"/api/v1/accounts/{their_account['id']}/holders")).status_code == 404
        assert (await get("/api/v1/sign-in-activity")).status_code == 403

        # QLCL officers read units, not accounts; auditors read everything
        officer = token_for("qlcl_officer").headers
        assert len((await get("/api/v1/units", officer)).json()["items"]) == 2
        assert (await get("/api/v1/accounts", officer)).status_code == 403
        auditor = token_for("auditor").headers
        assert len((await get("/api/v1/accounts", auditor)).json()["items"]) == 2
        assert (await get(f"/api/v1/accounts/{their_account['id']}/holders", auditor)).status_code == 200
        assert (await get("/api/v1/sign-in-activity", auditor)).status_code == 200
