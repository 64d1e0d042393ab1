"""Test kit for the fault tests (`tests/faults`): the whole system as processes, as `make run` starts them, the
faults done to it, and the checks that follow every fault — each request where it would be without the fault,
every serial accounted for once, every event in the audit log once with the chain intact, every outbox drained,
nothing in a dead-letter topic.

The tests print what they did and how long the system took to come back (`say`, `Clock`): run them with `-s`
to read it. Timings are reported, never asserted: the machine is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from phoi_contracts import topics
from phoi_kit.db import libpq_url
from phoi_kit.kafka import with_dead_letters

from phoi_local.procutil import wait_until
from phoi_local.system import Stack, running_system

#: How long the broker, the Keycloak stand-in or PostgreSQL stays down. The issue asks for 30 s; `make test` runs
#: 5 s so the folder stays short, `make faults` runs the 30 s (PHOI_FAULT_OUTAGE_SECONDS sets any other).
OUTAGE_SECONDS = float(os.environ.get("PHOI_FAULT_OUTAGE_SECONDS", "5"))
#: The services of the fault stacks: the portal adds nothing to these faults but a process to boot.
SERVICES = ("identity", "requests", "inventory", "audit")
#: How long the checks wait for the system to come to rest after a fault (generous: two shared cores).
SETTLE_SECONDS = 120.0
POLL = 0.25  # seconds between looks: each look costs connections and CPU the services need
#: Each fault stack's settings: orphaned Keycloak users become reconcilable after 1 s, not 2 minutes, and a
#: failing Keycloak call gives up after two tries (the test waits for the answer).
FAULT_ENV = {
    "IDENTITY_RECONCILE_GRACE_SECONDS": "1",
    "IDENTITY_KEYCLOAK_RETRY_ATTEMPTS": "2",
    "IDENTITY_KEYCLOAK_TIMEOUT_SECONDS": "5",
}


#: A request's status in requests → its allocation's status in inventory, once inventory has caught up.
INVENTORY_STATUS = {"allocated": "completed", "received": "received"}


def say(message: str) -> None:
    print(f"[faults] {message}", flush=True)


def say_recovered(name: str, restarted: float, settled: float, since_fault: float) -> None:
    say(
        f"{name} back in {restarted:.1f}s; everything at rest and checked {settled:.1f}s later "
        f"({since_fault:.1f}s after the fault)"
    )


@dataclass
class Clock:
    """Seconds since it was made, for the printed report."""

    started: float = field(default_factory=time.monotonic)

    def __call__(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Expected:
    status: str
    quantity: int  # approved (allocated) blanks; 0 while not approved


@dataclass
class FaultStack:
    """A running system under test, what its requests must end as, and the checks."""

    stack: Stack
    bootstrap: str
    keycloak: Any  # a phoi_local.keycloak.testing.KeycloakTarget
    token_for: Callable[..., Any]
    unit_code: str
    unit: dict[str, str] = field(default_factory=dict)
    expected: dict[str, Expected] = field(default_factory=dict)

    @property
    def databases(self) -> dict[str, str]:
        return {
            name: libpq_url(service.env[f"{name.upper()}_DATABASE_URL"])
            for name, service in self.stack.services.items()
        }

    @property
    def topic_prefix(self) -> str:
        return next(iter(self.stack.services.values())).env["KAFKA_TOPIC_PREFIX"]

    def fresh_tokens(self) -> None:
        """New tokens for the unit, the officer and the administrator (a module outlives a 5-minute token)."""
        self.unit = self.token_for("unit_account", self.unit_code).headers
        self.stack.officer = self.token_for("qlcl_officer").headers
        self.stack.admin = self.token_for("qlcl_admin").headers

    # --- the workflow -------------------------------------------------------------------------------------

    def submitted(self, quantity: int) -> dict[str, Any]:
        request = self.stack.submit_request(self.unit, quantity)
        self.expect_submitted(request["id"])
        return request

    def approve(self, request: dict[str, Any], quantity: int) -> None:
        self.stack.approve(request, [quantity])
        self.expect_allocated(request["id"], quantity)

    def expect_submitted(self, request_id: str) -> None:
        self.expected[request_id] = Expected("submitted", 0)

    def expect_allocated(self, request_id: str, quantity: int) -> None:
        self.expected[request_id] = Expected("allocated", quantity)

    def status(self, request_id: str) -> str:
        response = self.stack.api("requests", "GET", f"/api/v1/requests/{request_id}", self.stack.officer)
        assert response.status_code == 200, response.text
        return str(response.json()["status"])

    def wait_status(self, request_id: str, status: str) -> None:
        wait_until(
            lambda: self.status(request_id) == status, timeout=SETTLE_SECONDS, what=f"request {status}", interval=POLL
        )

    def confirm_receipt(self, request_id: str) -> None:
        current = self.stack.api("requests", "GET", f"/api/v1/requests/{request_id}", self.unit)
        response = self.stack.api(
            "requests",
            "POST",
            f"/api/v1/requests/{request_id}/confirm-receipt",
            self.unit,
            headers={"If-Match": current.headers["etag"]},
            json={"comment": "Đã nhận đủ"},
        )
        assert response.status_code == 200, response.text
        self.expected[request_id].status = "received"

    # --- the checks after a fault -------------------------------------------------------------------------

    def check(self) -> float:
        """Wait until the system is at rest, then check it is whole; returns the seconds the rest took."""
        clock = Clock()
        for request_id, expected in self.expected.items():
            self.wait_status(request_id, expected.status)
        wait_until(self._inventory_agrees, timeout=SETTLE_SECONDS, what="inventory's allocations", interval=POLL)
        wait_until(lambda: self._pending() == 0, timeout=SETTLE_SECONDS, what="every outbox drained", interval=POLL)
        # ... and the gauge operators watch says so (the relay refreshes it on its next round: up to its poll)
        wait_until(self._gauges_at_zero, timeout=SETTLE_SECONDS, what="outbox_pending 0 on /metrics", interval=POLL)
        wait_until(
            lambda: not self._unaudited(), timeout=SETTLE_SECONDS, what="every event in the audit log", interval=POLL
        )
        settled = clock()
        self._check_audit()
        self._check_serials()
        dead = asyncio.run(dead_letters(self.bootstrap, self.topic_prefix))
        assert not any(dead.values()), f"messages in dead-letter topics: {dead}"
        return settled

    def _inventory_agrees(self) -> bool:
        """Inventory has applied what requests shows: an allocation completed, or received by the unit."""
        statuses = {r: status for r, (status, _, _) in asyncio.run(_allocations(self.databases["inventory"])).items()}
        wanted = {r: INVENTORY_STATUS[e.status] for r, e in self.expected.items() if e.status in INVENTORY_STATUS}
        return statuses == wanted

    def _pending(self) -> int:
        return sum(asyncio.run(_pending_per_database(self.databases)).values())

    def _gauges_at_zero(self) -> bool:
        for service in self.stack.services.values():
            metrics = httpx.get(f"{service.url}/metrics", timeout=10).text
            pending = re.findall(r"^outbox_pending\{[^}]*\} (\S+)$", metrics, re.M)
            if not pending or any(float(value) for value in pending):
                return False
        return True

    def _unaudited(self) -> set[Any]:
        return asyncio.run(_unaudited(self.databases))

    def _check_audit(self) -> None:
        entries, distinct = asyncio.run(
            _row(self.databases["audit"], "SELECT count(*), count(DISTINCT event_id) FROM audit_entries")
        )
        assert entries == distinct, f"{entries - distinct} events recorded twice in the audit log"
        report = self.stack.api("audit", "GET", "/api/v1/verify", self.stack.admin)
        assert report.status_code == 200, report.text
        assert report.json()["ok"], report.json()

    def _check_serials(self) -> None:
        """Every printed serial is in exactly one block; each approved request got exactly its quantity, in one
        allocation, allocated once in the ledger; requests shows as many serials as inventory allocated."""
        inventory = self.databases["inventory"]
        printed, held = asyncio.run(
            _row(
                inventory,
                "SELECT (SELECT coalesce(sum(upper(serials) - lower(serials)), 0) FROM print_batches),"
                " (SELECT coalesce(sum(upper(serials) - lower(serials)), 0) FROM blocks)",
            )
        )
        assert printed == held, f"{printed} serials printed, {held} in blocks"  # (blocks never overlap: a constraint)
        allocated = {r: counts for r, (_, *counts) in asyncio.run(_allocations(inventory)).items()}
        wanted = {r: e.quantity for r, e in self.expected.items() if e.quantity}
        assert allocated == {r: [1, q] for r, q in wanted.items()}, (allocated, wanted)
        (in_ledger,) = asyncio.run(
            _row(
                inventory,
                "SELECT coalesce(sum(upper(serials) - lower(serials)), 0) FROM ledger WHERE to_state = 'allocated'",
            )
        )
        assert in_ledger == sum(wanted.values()), f"the ledger allocated {in_ledger}, the requests {wanted}"
        for request_id, quantity in wanted.items():
            shown = self.stack.api("requests", "GET", f"/api/v1/requests/{request_id}", self.stack.officer).json()
            ranges = [r for line in shown["lines"] for r in line["allocated_ranges"]]
            assert sum(r["last"] - r["first"] + 1 for r in ranges) == quantity, shown


# --- what the checks read -----------------------------------------------------------------------------------


async def _row(url: str, query: str) -> tuple[Any, ...]:
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(query)
        assert row is not None
        return tuple(row)
    finally:
        await connection.close()


async def _pending_per_database(databases: dict[str, str]) -> dict[str, int]:
    pending: dict[str, int] = {}
    for name, url in databases.items():
        (pending[name],) = await _row(url, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
    return pending


async def _unaudited(databases: dict[str, str]) -> set[Any]:
    """Ids of events some service published that the audit log has not recorded."""
    published: set[Any] = set()
    for url in databases.values():
        connection = await asyncpg.connect(url)
        try:
            published |= {r["event_id"] for r in await connection.fetch("SELECT event_id FROM outbox")}
        finally:
            await connection.close()
    connection = await asyncpg.connect(databases["audit"])
    try:
        audited = {r["event_id"] for r in await connection.fetch("SELECT event_id FROM audit_entries")}
    finally:
        await connection.close()
    return published - audited


async def _allocations(inventory: str) -> dict[str, tuple[str, int, int]]:
    """{request id: (its allocation's status, allocations — one unless doubled, serials the ledger allocated to
    them)}. (The ledger, not the blocks: blocks received by the unit no longer name their allocation.)"""
    connection = await asyncpg.connect(inventory)
    try:
        rows = await connection.fetch(
            "SELECT a.request_id, max(a.status) AS status, count(DISTINCT a.id) AS allocations,"
            " coalesce(sum(upper(l.serials) - lower(l.serials)), 0) AS serials"
            " FROM allocations a LEFT JOIN ledger l ON l.allocation_id = a.id AND l.to_state = 'allocated'"
            " GROUP BY a.request_id"
        )
    finally:
        await connection.close()
    return {str(r["request_id"]): (r["status"], r["allocations"], int(r["serials"])) for r in rows}


async def dead_letters(bootstrap: str, prefix: str) -> dict[str, int]:
    """Messages in each dead-letter topic of the stack."""
    names = [prefix + t for t in with_dead_letters(topics.ALL) if t.endswith(".dlq")]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fills the metadata the partition lookups below read
        found: dict[str, int] = {}
        for name in names:
            partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
            if not partitions:
                continue
            first = await consumer.beginning_offsets(partitions)
            last = await consumer.end_offsets(partitions)
            found[name] = sum(last[p] - first[p] for p in partitions)
        return found
    finally:
        await consumer.stop()


# --- the system and its faults ----------------------------------------------------------------------------


@contextlib.contextmanager
def fault_stack(
    pg_server: Any, broker: Any, keycloak: Any, token_for: Callable[..., Any], logs: Path, unit_code: str
) -> Iterator[FaultStack]:
    """The four services as processes (as `make run` starts them) on fresh databases and private topics."""
    clock = Clock()
    with running_system(pg_server, broker, keycloak, token_for, logs, names=SERVICES, extra_env=FAULT_ENV) as stack:
        say(f"stack of {', '.join(SERVICES)} up in {clock():.1f}s (logs: {logs})")
        faults = FaultStack(stack, broker.bootstrap, keycloak, token_for, unit_code)
        faults.fresh_tokens()
        yield faults


def restart(stack: Stack, name: str) -> float:
    """Launch a stopped or killed service again and wait until it answers; returns the seconds that took."""
    clock = Clock()
    service = stack.services[name]
    service.launch()
    service.wait_healthy()
    return clock()


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
