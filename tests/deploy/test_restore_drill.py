"""The restore drill (Article 9): a backup is only one once it has been restored.

The whole system runs (every service and the portal as processes, the broker, a Keycloak stand-in of the drill's
own). A unit's request is approved and allocated; the drill backs up, keeps working, destroys every database and
the stand-in's state, restores, and restarts on an empty broker (new topics: the broker lost its log too). The
restored system must be exactly the backed-up one — rows per table, the audit chain intact to the same head, the
same serial stock — the outbox replay must put every remembered event back on the broker without any consumer
applying one twice, and the services must serve and carry new work again.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from keycloak import KeycloakAuthenticationError
from phoi_contracts import topics
from phoi_identity.domain.sign_in import PUBLISHED_TYPES
from phoi_kit.db import libpq_url
from phoi_kit.kafka import ensure_topics, with_dead_letters
from phoi_local.backup import BackupError, Counts, backup, database_counts, read_manifest, restore
from phoi_local.keycloak.process import StandinProcess
from phoi_local.keycloak.testing import KeycloakTarget
from phoi_local.procutil import free_port, wait_until
from phoi_local.stack import REPO_ROOT, replay_databases
from phoi_local.system import Stack, running_system
from phoi_local.testing import token_issuer

pytestmark = [pytest.mark.slow]

UNIT = "SGD-DRILL"
POLL = 0.2  # seconds between looks: each look costs connections and CPU the services need (two cores)


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[StandinProcess]:
    """A stand-in of the drill's own: its state is backed up, destroyed and restored."""
    process = StandinProcess(state_dir=tmp_path / "keycloak").start()
    try:
        yield process
    finally:
        process.stop()


def test_the_restored_system_is_the_backed_up_one_and_works_on(
    pg_server: Any, broker: Any, standin: StandinProcess, tmp_path: Path
) -> None:
    keycloak = KeycloakTarget.for_standin(standin)
    token_for = token_issuer(keycloak)
    with running_system(pg_server, broker, keycloak, token_for, tmp_path) as stack:
        databases = {name: libpq_url(s.env[f"{name.upper()}_DATABASE_URL"]) for name, s in stack.services.items()}
        unit = token_for("unit_account", UNIT).headers
        stack.print_batch(400)
        allocate(stack, unit, 150)
        before = settled(databases, keycloak)
        stock_before, head_before = stock(stack), verified_head(stack)

        folder = backup(databases, tmp_path / "backups", keycloak_state=standin.state_dir)

        assert read_manifest(folder)["databases"] == {
            name: {"file": f"{name}.dump", "tables": tables} for name, tables in before.items()
        }
        # Keep working: a batch, a request, and a unit whose account exists in identity and Keycloak alike.
        stack.print_batch(100)
        allocate(stack, unit, 50)
        late_unit, late_user, late_password = stack.new_unit_account()
        assert settled(databases, keycloak) != before

        for service in stack.services.values():
            service.stop()
        standin.stop()
        destroy(pg_server, databases, standin.state_dir)

        assert restore(folder, databases, maintenance_url=pg_server.url(), keycloak_state=standin.state_dir) == before
        replayed = restart_on_an_empty_broker(stack, broker, standin, databases)

        # Every remembered event went out again and reached the audit log, which recorded none of them twice.
        # (at least once: a redelivery within the replay counts twice, and is deduplicated all the same).
        wait_until(
            lambda: duplicates_seen_by_audit(stack) >= sum(replayed.values()), timeout=60, what="replay", interval=POLL
        )
        assert settled(databases, keycloak) == before
        assert verified_head(stack) == head_before
        assert stock(stack) == stock_before
        assert stack.api("identity", "GET", f"/api/v1/units/{late_unit}", stack.admin).status_code == 404
        with pytest.raises(KeycloakAuthenticationError):
            keycloak.openid().token(late_user, late_password)

        # And it works on: new events are published, consumed and chained.
        stack.print_batch(30)
        after = settled(databases, keycloak)
        assert after["inventory"]["print_batches"] == before["inventory"]["print_batches"] + 1
        assert verified_head(stack)["sequence"] > head_before["sequence"]
        for service in stack.services.values():
            assert httpx.get(f"{service.url}/readyz", timeout=10).status_code == 200


def test_backups_are_never_written_inside_the_repository(tmp_path: Path) -> None:
    inside = REPO_ROOT / "deploy" / "backups-here"
    via_link = tmp_path / "link"
    via_link.symlink_to(REPO_ROOT)
    for target in (inside, via_link / "x"):
        with pytest.raises(BackupError, match="inside the repository"):
            backup({}, target)
    command = [sys.executable, "-m", "phoi_local", "backup", "--to", str(via_link)]
    refused = subprocess.run(command, capture_output=True, text=True, check=False)
    assert refused.returncode == 2
    assert "inside the repository" in refused.stderr
    assert not inside.exists()


def test_restore_refuses_a_stack_that_is_still_running(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("PHOI_PG_PORT", "PHOI_BROKER_PORT", "KEYCLOAK_STANDIN_PORT")}
    ports |= {f"{name.upper()}_PORT": free_port() for name in ("identity", "requests", "inventory", "audit", "portal")}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "PHOI_LOCAL_DIR": str(tmp_path / "state")}
    with socket.create_server(("127.0.0.1", ports["AUDIT_PORT"])):  # as if the audit service still answered
        command = [sys.executable, "-m", "phoi_local", "restore", str(tmp_path / "no-backup")]
        refused = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert refused.returncode == 2
    assert "stop the stack first" in refused.stderr
    assert "audit" in refused.stderr
    assert not (tmp_path / "state").exists()  # nothing was started or written


# --- the workflow ---------------------------------------------------------------------------------------------


def allocate(stack: Stack, unit: dict[str, str], quantity: int) -> None:
    """A request of the unit, with its letter, submitted, approved by QLCL and allocated by inventory."""
    submitted = stack.submit_request(unit, quantity)
    stack.approve(submitted, [quantity])
    wait_until(lambda: is_allocated(stack, submitted["id"]), timeout=60, what="request allocated", interval=POLL)


def is_allocated(stack: Stack, request_id: str) -> bool:
    response = stack.api("requests", "GET", f"/api/v1/requests/{request_id}", stack.officer)
    return bool(response.json()["status"] == "allocated")


# --- what is compared -----------------------------------------------------------------------------------------


def settled(databases: dict[str, str], keycloak: KeycloakTarget) -> Counts:
    """Rows per table per database once the system is at rest: identity has read every sign-in Keycloak recorded,
    every outbox row is published, and the audit log has consumed every event any service published (it consumes
    all topics)."""
    admin = keycloak.admin()

    def at_rest() -> bool:
        newest = max((e["time"] for e in admin.get_events({"type": sorted(PUBLISHED_TYPES), "max": 10_000})), default=0)
        pending, published, audited, read_up_to = asyncio.run(_flow(databases))
        return read_up_to >= newest and pending == 0 and audited == published

    wait_until(at_rest, timeout=60, what="every event published and audited", interval=POLL)
    return asyncio.run(database_counts(databases))


async def _flow(databases: dict[str, str]) -> tuple[int, int, int, int]:
    pending = published = 0
    for url in databases.values():
        connection = await asyncpg.connect(url)
        try:
            row = await connection.fetchrow(
                "SELECT count(*) FILTER (WHERE published_at IS NULL) AS pending, count(*) AS total FROM outbox"
            )
            assert row is not None
            pending, published = pending + row["pending"], published + row["total"]
        finally:
            await connection.close()
    audited = await _value(databases["audit"], "SELECT count(*) FROM processed_events")
    read_up_to = await _value(databases["identity"], "SELECT coalesce(max(high_water_ms), 0) FROM login_event_cursor")
    return pending, published, audited, read_up_to


async def _value(url: str, query: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(query))
    finally:
        await connection.close()


def verified_head(stack: Stack) -> dict[str, Any]:
    response = stack.api("audit", "GET", "/api/v1/verify", stack.admin)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"], report
    head: dict[str, Any] = report["head"]
    return head


def stock(stack: Stack) -> list[dict[str, Any]]:
    """Every serial range by form type, state and custodian (inventory's own answer)."""
    response = stack.api("inventory", "GET", "/api/v1/stock", stack.officer)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    assert items
    return items


def duplicates_seen_by_audit(stack: Stack) -> int:
    metrics = httpx.get(f"{stack.url('audit')}/metrics", timeout=10).text
    return sum(int(float(n)) for n in re.findall(r"^consumer_duplicates_total\{[^}]*\} (\S+)$", metrics, re.M))


# --- destroying and starting again ----------------------------------------------------------------------------


def destroy(pg_server: Any, databases: dict[str, str], keycloak_state: Path) -> None:
    async def drop() -> None:
        connection = await asyncpg.connect(libpq_url(pg_server.url()))
        try:
            for url in databases.values():
                await connection.execute(f'DROP DATABASE "{url.rsplit("/", 1)[-1]}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())
    shutil.rmtree(keycloak_state)


def restart_on_an_empty_broker(
    stack: Stack, broker: Any, standin: StandinProcess, databases: dict[str, str]
) -> dict[str, int]:
    """As `make run` after a restore: the broker remembers nothing (here: new topics and consumer groups), the
    outboxes are replayed, then the stand-in and the services start. Returns the rows replayed per service."""
    prefix = f"r{uuid.uuid4().hex[:8]}."
    asyncio.run(ensure_topics(broker.bootstrap, [prefix + t for t in with_dead_letters(topics.ALL)]))
    replayed = asyncio.run(replay_databases(databases))
    assert replayed, "nothing to replay: the restored outboxes are empty"
    standin.start()
    for name, service in stack.services.items():
        service.env |= {"KAFKA_TOPIC_PREFIX": prefix, f"{name.upper()}_CONSUMER_GROUP_ID": f"{prefix}{name}"}
        # The audit's checkpoint job certifies the restored head at start with an entry of its own (as it should);
        # off here so the restored rows can be compared one for one.
        service.env["AUDIT_CHECKPOINT_SECONDS"] = "0"
        service.launch()
    for service in stack.services.values():
        service.wait_healthy()
    return replayed
