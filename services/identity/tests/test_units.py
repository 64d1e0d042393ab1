"""Units: the demo seed goes in through the API, duplicates are refused, details change under If-Match,
deactivation disables the unit's accounts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from phoi_kit.pagination import encode_cursor
from phoi_local.testing import REPO_ROOT
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

SEED = Path(REPO_ROOT) / "deploy" / "local" / "demo-seed.json"


def seed_units() -> list[dict[str, Any]]:
    """The demo seed's units as the launcher would POST them (its `parent` is a name, not a unit)."""
    units = json.loads(SEED.read_text(encoding="utf-8"))["units"]
    return [{k: v for k, v in u.items() if k in ("code", "name", "name_en", "kind", "province")} for u in units]


async def test_the_demo_units_register_once(identity_api: Any, admin_headers: dict[str, str], helpers: Any) -> None:
    async with identity_api() as svc:
        client = svc.client
        for body in seed_units():
            answer = await client.post("/api/v1/units", json=body, headers=admin_headers)
            assert answer.status_code == 201, answer.text
            assert answer.headers["location"] == f"/api/v1/units/{body['code']}"
            assert answer.headers["etag"] == '"1"'
        for body in seed_units():  # the launcher runs again: 409, nothing changes
            answer = await client.post("/api/v1/units", json=body, headers=admin_headers)
            assert answer.status_code == 409
            assert answer.json()["code"] == "unit_exists"
        lower = await client.post(
            "/api/v1/units", json={"code": "sgd-hn", "name": "x", "kind": "department"}, headers=admin_headers
        )
        assert lower.status_code == 409  # codes are case-insensitive

        listed = (await client.get("/api/v1/units", headers=admin_headers)).json()
        assert [u["code"] for u in listed["items"]] == ["QLCL", "SGD-HCM", "SGD-HN"]
        assert [u["kind"] for u in listed["items"]] == ["qlcl", "department", "department"]
        first = (await client.get("/api/v1/units?limit=2", headers=admin_headers)).json()
        assert [u["code"] for u in first["items"]] == ["QLCL", "SGD-HCM"]
        second = (
            await client.get(f"/api/v1/units?limit=2&cursor={first['next_cursor']}", headers=admin_headers)
        ).json()
        assert [u["code"] for u in second["items"]] == ["SGD-HN"]
        assert second["next_cursor"] is None
        bad_cursor = await client.get("/api/v1/units?cursor=not-a-cursor", headers=admin_headers)
        assert bad_cursor.status_code == 400
        assert bad_cursor.json()["code"] == "invalid_cursor"
        crafted = encode_cursor("not-a-date", "not-a-uuid")  # well-formed, wrong parts
        for path in ("/api/v1/accounts", "/api/v1/incidents", "/api/v1/sign-in-activity/events"):
            answer = await client.get(f"{path}?cursor={crafted}", headers=admin_headers)
            assert answer.status_code == 400, (path, answer.text)

        hn = await client.get("/api/v1/units/sgd-hn", headers=admin_headers)
        assert hn.json()["name"] == "Sở Giáo dục và Đào tạo Hà Nội"
        assert hn.json()["name_en"] == "Hanoi Department of Education and Training"
        assert (await client.get("/api/v1/units/NOPE", headers=admin_headers)).status_code == 404

        created = [kind for kind, _ in await helpers.outbox(svc)]
        assert created == ["unit.created.v1"] * 3


async def test_change_details_under_if_match(identity_api: Any, admin_headers: dict[str, str], helpers: Any) -> None:
    async with identity_api() as svc:
        client = svc.client
        parent = await helpers.new_unit(client, admin_headers, kind="issuer")
        unit = await helpers.new_unit(client, admin_headers, parent_code=parent["code"], province="Hà Nội")
        path = f"/api/v1/units/{unit['code']}"
        patch = {"name": "Sở GDĐT Thử (mới)", "head": {"name": "Lê Văn Cường", "position": "Giám đốc"}}

        missing = await client.patch(path, json=patch, headers=admin_headers)
        assert missing.status_code == 428
        stale = await client.patch(path, json=patch, headers={**admin_headers, "If-Match": '"7"'})
        assert stale.status_code == 412
        assert stale.json()["code"] == "version_mismatch"
        assert stale.json()["title"] == "The resource changed since you read it"
        changed = await client.patch(path, json=patch, headers={**admin_headers, "If-Match": '"1"'})
        assert changed.status_code == 200, changed.text
        assert changed.headers["etag"] == '"2"'
        body = changed.json()
        assert body["name"] == "Sở GDĐT Thử (mới)"
        assert body["head"] == {"name": "Lê Văn Cường", "position": "Giám đốc", "contact": None}
        assert body["province"] == "Hà Nội"  # not sent, not changed

        cycle = await client.patch(
            f"/api/v1/units/{parent['code']}",
            json={"parent_code": unit["code"]},
            headers={**admin_headers, "If-Match": '"1"'},
        )
        assert cycle.status_code == 422
        assert cycle.json()["code"] == "invalid_unit"
        no_parent = await client.post(
            "/api/v1/units",
            json={"code": helpers.unique_code(), "name": "x", "kind": "institution", "parent_code": "NO-SUCH"},
            headers=admin_headers,
        )
        assert no_parent.status_code == 422
        immutable = await client.patch(path, json={"kind": "qlcl"}, headers={**admin_headers, "If-Match": '"2"'})
        assert immutable.status_code == 422

        updated = [data for kind, data in await helpers.outbox(svc) if kind == "unit.updated.v1"]
        assert updated == [
            {
                "unit_id": unit["id"],
                "code": unit["code"],
                "name": "Sở GDĐT Thử (mới)",
                "kind": "department",
                "parent_code": parent["code"],
                "province": "Hà Nội",
                "changed_fields": ["head_name", "head_position", "name"],
            }
        ]


async def test_deactivation_disables_the_units_accounts(
    identity_api: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    async with identity_api() as svc:
        client = svc.client
        unit = await helpers.new_unit(client, admin_headers)
        account = await helpers.new_unit_account(client, admin_headers, unit["code"])
        path = f"/api/v1/units/{unit['code']}"

        # it disables every account of the unit at once: only against the version the caller read
        blind = await client.post(f"{path}/deactivate", json={"reason": "Sáp nhập"}, headers=admin_headers)
        assert blind.status_code == 428
        assert (blind.json()["code"], blind.json()["current_version"]) == ("if_match_required", 1)
        stale = await client.post(
            f"{path}/deactivate", json={"reason": "Sáp nhập"}, headers={**admin_headers, "If-Match": '"9"'}
        )
        assert stale.status_code == 412
        assert (await client.get(f"/api/v1/accounts/{account['id']}", headers=admin_headers)).json()[
            "status"
        ] == "pending_first_login"
        off = await client.post(
            f"{path}/deactivate", json={"reason": "Sáp nhập"}, headers={**admin_headers, "If-Match": '"1"'}
        )
        assert off.status_code == 200, off.text
        assert off.json()["status"] == "inactive"
        assert off.headers["etag"] == '"2"'
        again = await client.post(
            f"{path}/deactivate", json={"reason": "x"}, headers={**admin_headers, "If-Match": "2"}
        )
        assert again.status_code == 409
        assert again.json()["code"] == "unit_state_conflict"
        gone = (await client.get(f"/api/v1/accounts/{account['id']}", headers=admin_headers)).json()
        assert gone["status"] == "disabled"
        assert keycloak.admin().get_user(account["keycloak_user_id"])["enabled"] is False
        refused = await client.post(
            "/api/v1/accounts",
            json={"kind": "unit", "unit_code": unit["code"], "holder": {"name": "Lê Văn C"}},
            headers=admin_headers,
        )
        assert refused.status_code == 409
        assert refused.json()["code"] == "unit_inactive"

        on = await client.post(f"{path}/reactivate", headers=admin_headers)
        assert on.status_code == 200, on.text
        assert on.json()["status"] == "active"
        # the old unit account stays disabled; the unit gets a new one (the old one is history)
        fresh = await helpers.new_unit_account(client, admin_headers, unit["code"])
        assert fresh["status"] == "pending_first_login"
        types = [kind for kind, _ in await helpers.outbox(svc)]
        assert types[types.index("account.disabled.v1") :] == [
            "account.disabled.v1",
            "unit.deactivated.v1",
            "unit.reactivated.v1",
            "account.created.v1",
        ]


async def test_the_issuer_is_never_deactivated(
    identity_api: Any, admin_headers: dict[str, str], keycloak: Any, helpers: Any
) -> None:
    """QLCL's accounts are the administrators and officers: deactivating it would disable them all, the
    caller's included, and nothing could undo that. Refused whatever version is named; nothing changes."""
    async with identity_api() as svc:
        client = svc.client
        issuer = await helpers.new_unit(client, admin_headers, kind="issuer")
        officer = await helpers.new_individual(client, admin_headers)
        path = f"/api/v1/units/{issuer['code']}"
        blind = await client.post(f"{path}/deactivate", json={"reason": "fuzz"}, headers=admin_headers)
        assert blind.status_code == 428  # like any unit: the version first
        for version in ('"1"', '"7"'):
            refused = await client.post(
                f"{path}/deactivate", json={"reason": "fuzz"}, headers={**admin_headers, "If-Match": version}
            )
            assert refused.status_code == 409, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["code"] == "issuer_unit_protected"
        after = await client.get(path, headers=admin_headers)
        assert (after.json()["status"], after.headers["etag"]) == ("active", '"1"')
        assert (await client.get(f"/api/v1/accounts/{officer['id']}", headers=admin_headers)).json()[
            "status"
        ] == "pending_first_login"
        assert keycloak.admin().get_user(officer["keycloak_user_id"])["enabled"] is True
        assert [kind for kind, _ in await helpers.outbox(svc)] == ["unit.created.v1", "account.created.v1"]

        # the database holds the rule too (ck_units_issuer_active), whatever code writes to it
        async with svc.runtime.database.session() as session:
            with pytest.raises(IntegrityError, match="ck_units_issuer_active"):
                await session.execute(
                    text("UPDATE units SET status = 'inactive' WHERE code = :code"), {"code": issuer["code"]}
                )


async def test_the_launchers_seed_sequence(identity_api: Any, keycloak: Any) -> None:
    """What the launcher does: units from the seed, then the stand-in's demo users adopted as accounts,
    as qlcl.admin. Run twice: the second run changes nothing (409s)."""
    admin = keycloak.admin()
    users = json.loads(SEED.read_text(encoding="utf-8"))["users"]
    if any(admin.get_user_id(u["username"]) is None for u in users):
        pytest.skip("this Keycloak has no demo users")
    token = keycloak.openid().token("qlcl.admin", os.environ.get("PHOI_DEMO_PASSWORD", "demo-Phoi-2024!"))
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    async with identity_api() as svc:
        client = svc.client
        for run in range(2):
            for body in seed_units():
                answer = await client.post("/api/v1/units", json=body, headers=headers)
                assert answer.status_code == (201 if run == 0 else 409), answer.text
            for user in users:
                body = {"keycloak_username": user["username"]}
                if user["role"] in ("qlcl_admin", "qlcl_officer"):
                    body["unit_code"] = "QLCL"
                answer = await client.post("/api/v1/accounts", json=body, headers=headers)
                assert answer.status_code == (201 if run == 0 else 409), answer.text
        accounts = (await client.get("/api/v1/accounts", headers=headers)).json()["items"]
        summary = {(a["username"], a["kind"], a["role"], a["unit_code"], a["status"]) for a in accounts}
        assert summary == {
            ("qlcl.admin", "individual", "qlcl_admin", "QLCL", "active"),
            ("qlcl.officer", "individual", "qlcl_officer", "QLCL", "active"),
            ("auditor", "individual", "auditor", None, "active"),
            ("sgd-hn", "unit", "unit_account", "SGD-HN", "active"),
            ("sgd-hcm", "unit", "unit_account", "SGD-HCM", "active"),
        }
        assert {a["holder"]["name"] for a in accounts} >= {"Nguyễn Văn An", "Phạm Quốc Dũng"}
        spec = (await client.get("/openapi.json")).json()
        assert {
            "/api/v1/units",
            "/api/v1/accounts/{account_id}/handover",
            "/api/v1/incidents/{incident_id}/resolve",
        } <= set(spec["paths"])
