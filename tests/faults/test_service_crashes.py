"""`kill -9` of each service at a point of the saga where it matters, and a restart: the system ends where it
would have ended without the crash — the broker keeps what a dead consumer has not read, the outbox keeps what a
dead relay has not sent, the consumers' processed-event ids keep a re-delivery from being applied twice.
"""

from __future__ import annotations

import asyncio
import secrets
import threading

import asyncpg
import httpx
import pytest
from phoi_local.faults import Clock, FaultStack, restart, say, say_recovered
from phoi_local.procutil import wait_until

pytestmark = [pytest.mark.slow]


def test_inventory_killed_as_an_approval_commits_allocates_after_restart(faults: FaultStack) -> None:
    request = faults.submitted(120)
    faults.approve(request, 100)
    faults.stack.services["inventory"].kill()  # the approval is committed; its event is on its way or waiting
    say("inventory killed (-9) right after the approval returned")
    down = Clock()
    assert faults.status(request["id"]) in {"approved", "allocated"}
    took = restart(faults.stack, "inventory")
    settled = faults.check()
    say_recovered("inventory", took, settled, down())


def test_requests_killed_right_after_approving_publishes_after_restart(faults: FaultStack) -> None:
    request = faults.submitted(80)
    faults.approve(request, 80)
    faults.stack.services["requests"].kill()  # its outbox row is committed; the relay may not have sent it
    say("requests killed (-9) right after the approval call returned")
    down = Clock()
    took = restart(faults.stack, "requests")
    settled = faults.check()
    say_recovered("requests", took, settled, down())


def test_receipt_confirmed_while_inventory_is_down_reaches_it_after_restart(faults: FaultStack) -> None:
    request = faults.submitted(50)
    faults.approve(request, 50)
    faults.wait_status(request["id"], "allocated")
    received_before = at_unit(faults)
    faults.stack.services["inventory"].kill()
    say("inventory killed (-9); the unit confirms receipt while it is down")
    down = Clock()
    faults.confirm_receipt(request["id"])
    took = restart(faults.stack, "inventory")
    settled = faults.check()
    assert at_unit(faults) == received_before + 50
    say_recovered("inventory", took, settled, down())


def at_unit(faults: FaultStack) -> int:
    """Blanks the unit has received, by inventory's account."""
    stock = faults.stack.api(
        "inventory", "GET", "/api/v1/stock", faults.stack.officer, params={"unit_code": faults.unit_code}
    )
    assert stock.status_code == 200, stock.text
    return sum(line["count"] for line in stock.json()["items"] if line["state"] == "at_unit")


def test_audit_killed_mid_flow_records_every_event_once(faults: FaultStack) -> None:
    first = faults.submitted(30)
    faults.stack.services["audit"].kill()
    say("audit killed (-9) mid-flow; approvals and a receipt go on without it")
    down = Clock()
    faults.approve(first, 30)
    second = faults.submitted(20)
    faults.approve(second, 20)
    faults.wait_status(first["id"], "allocated")
    faults.confirm_receipt(first["id"])
    took = restart(faults.stack, "audit")
    settled = faults.check()
    say_recovered("audit", took, settled, down())


def test_identity_killed_while_issuing_accounts_leaves_no_half_made_account(faults: FaultStack) -> None:
    issuing = Issuing(faults)
    thread = threading.Thread(target=issuing.run, daemon=True)
    thread.start()
    # Kill while an account's issue is in flight: between its journal entry, the Keycloak user and the directory.
    wait_until(
        lambda: issuing.issued() >= 2 and issuing.in_flight.is_set(), timeout=60, what="accounts issued", interval=0.005
    )
    faults.stack.services["identity"].kill()
    issuing.stop.set()
    thread.join(timeout=60)
    say(f"identity killed (-9) while issuing accounts: {issuing.answers}")
    down = Clock()
    took = restart(faults.stack, "identity")
    assert_directory_matches_keycloak(faults, issuing)
    settled = faults.check()
    say_recovered("identity", took, settled, down())


class Issuing:
    """Units and their accounts issued one after another, until told to stop; what each call answered."""

    def __init__(self, faults: FaultStack) -> None:
        self.faults = faults
        self.answers: dict[str, int | str] = {}
        self.stop = threading.Event()
        self.in_flight = threading.Event()  # an account's issue has been asked for and not answered

    def issued(self) -> int:
        return sum(1 for answer in list(self.answers.values()) if answer == 201)

    def run(self) -> None:
        while not self.stop.is_set():
            code = f"T{secrets.token_hex(3).upper()}"
            try:
                self.answers[code] = self.issue(code)
            except httpx.HTTPError as exc:
                self.answers[code] = type(exc).__name__

    def issue(self, code: str) -> int | str:
        unit = self.faults.stack.api(
            "identity",
            "POST",
            "/api/v1/units",
            self.faults.stack.admin,
            json={"code": code, "name": f"Trường THPT {code}", "kind": "institution", "province": "Hà Nội"},
        )
        if unit.status_code != 201:
            return f"unit {unit.status_code}"
        self.in_flight.set()
        try:
            account = self.faults.stack.api(
                "identity",
                "POST",
                "/api/v1/accounts",
                self.faults.stack.admin,
                json={"kind": "unit", "unit_code": code, "holder": {"name": "Nguyễn Thị Hoa"}},
            )
        finally:
            self.in_flight.clear()
        assert account.status_code != 500, account.text
        return account.status_code


def assert_directory_matches_keycloak(faults: FaultStack, issuing: Issuing) -> None:
    """After reconciliation: every unit's account is in the directory exactly when its user is in Keycloak, and
    the issue journal is empty (no creation left half-way)."""
    journal = faults.databases["identity"]

    def reconciled() -> bool:
        response = faults.stack.api("identity", "POST", "/api/v1/reconcile", faults.stack.admin)
        assert response.status_code == 200, response.text
        return asyncio.run(_count(journal, "SELECT count(*) FROM keycloak_journal")) == 0

    wait_until(reconciled, timeout=60, what="the issue journal emptied by reconciliation", interval=1)
    admin = faults.keycloak.admin()
    for code, answer in issuing.answers.items():
        listed = faults.stack.api("identity", "GET", "/api/v1/accounts", faults.stack.admin, params={"unit_code": code})
        in_directory = bool(listed.json()["items"])
        in_keycloak = bool(admin.get_users({"username": code.lower(), "exact": True}))
        assert in_directory == in_keycloak, (code, answer, in_directory, in_keycloak)
        assert in_directory or answer != 201, (code, answer)


async def _count(url: str, query: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(query))
    finally:
        await connection.close()
