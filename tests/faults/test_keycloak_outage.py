"""The Keycloak stand-in down for `OUTAGE_SECONDS`. The services keep validating the tokens already issued
(the keys are cached), so the work goes on; identity's calls that need Keycloak's admin API (issuing an
account) answer 503 `keycloak_unavailable` and leave nothing behind; once the stand-in is back — with its
state: it keeps realm, users and keys in its state directory — accounts are issued again and reconciliation
finds no orphan and no half-made account.

The stand-in is the folder's own (conftest.py): stopping the session's would break every other test.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx
import pytest
from phoi_local.faults import OUTAGE_SECONDS, Clock, FaultStack, say
from phoi_local.keycloak.process import StandinProcess
from phoi_local.procutil import wait_until

pytestmark = [pytest.mark.slow]


def test_work_goes_on_without_keycloak_and_accounts_wait_for_it(
    faults: FaultStack, fault_standin: StandinProcess
) -> None:
    first = faults.submitted(60)  # every service has fetched the keys by now (identity: below)
    unit_code = new_unit(faults)
    assert faults.stack.api("audit", "GET", "/api/v1/verify", faults.stack.admin).status_code == 200
    assert faults.stack.api("inventory", "GET", "/api/v1/stock", faults.stack.officer).status_code == 200

    fault_standin.stop()
    say(f"Keycloak stand-in stopped for {OUTAGE_SECONDS:.0f}s")
    down = Clock()
    faults.approve(first, 60)  # tokens issued before the outage still work everywhere
    faults.wait_status(first["id"], "allocated")
    faults.confirm_receipt(first["id"])
    refused = issue_account(faults, unit_code)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "keycloak_unavailable"
    assert "retry-after" in refused.headers
    assert accounts_of(faults, unit_code) == []  # nothing half-made in the directory
    say(
        f"during the outage: saga carried on; issuing an account answered {refused.status_code} "
        f"{refused.json()['code']} after {down():.1f}s"
    )
    if (left := OUTAGE_SECONDS - down()) > 0:
        time.sleep(left)  # the outage itself, not a wait for anything

    fault_standin.start()
    outage, back = down(), Clock()
    # Its state survived: the users signed in before the outage still can.
    faults.keycloak.openid().token(*credentials_of(faults, "qlcl_admin"))
    issued = issue_account(faults, unit_code)
    assert issued.status_code == 201, issued.text
    reconcile_until_clean(faults)
    username = issued.json()["username"]
    assert len(faults.keycloak.admin().get_users({"username": username, "exact": True})) == 1
    settled = faults.check()
    say(
        f"stand-in back after {outage:.1f}s down; an account issued, reconciled, at rest and checked {back():.1f}s "
        f"after its return (the checks: {settled:.1f}s)"
    )


def new_unit(faults: FaultStack) -> str:
    code = f"KC{int(time.time() * 1000) % 100000}"
    unit = faults.stack.api(
        "identity",
        "POST",
        "/api/v1/units",
        faults.stack.admin,
        json={"code": code, "name": f"Trường THPT {code}", "kind": "institution", "province": "Huế"},
    )
    assert unit.status_code == 201, unit.text
    return code


def issue_account(faults: FaultStack, unit_code: str) -> httpx.Response:
    return faults.stack.api(
        "identity",
        "POST",
        "/api/v1/accounts",
        faults.stack.admin,
        json={"kind": "unit", "unit_code": unit_code, "holder": {"name": "Lê Văn Nam"}},
    )


def accounts_of(faults: FaultStack, unit_code: str) -> list[Any]:
    listed = faults.stack.api(
        "identity", "GET", "/api/v1/accounts", faults.stack.admin, params={"unit_code": unit_code}
    )
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])


def credentials_of(faults: FaultStack, role: str) -> tuple[str, str]:
    issued = faults.token_for(role)
    return issued.username, issued.password


def reconcile_until_clean(faults: FaultStack) -> None:
    """Reconciliation (as its timer would) until the issue journal is empty: nothing left half-way."""
    url = faults.databases["identity"]

    async def journal() -> int:
        connection = await asyncpg.connect(url)
        try:
            return int(await connection.fetchval("SELECT count(*) FROM keycloak_journal"))
        finally:
            await connection.close()

    def clean() -> bool:
        report = faults.stack.api("identity", "POST", "/api/v1/reconcile", faults.stack.admin)
        assert report.status_code == 200, report.text
        assert not report.json().get("orphan_keycloak_users_deleted"), report.json()
        return asyncio.run(journal()) == 0

    wait_until(clean, timeout=60, what="reconciliation found nothing half-made", interval=1)
